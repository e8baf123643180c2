package bqtest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/googleapi"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
)

// viewsBundle is a fake with dataset proj.ds holding a table people (id,
// name).
func viewsBundle(t *testing.T) (*bqtest.Server, *bigquery.Dataset) {
	t.Helper()
	ctx := context.Background()
	fake := bqtest.New(t)
	ds := fake.Client(t, "proj").Dataset("ds")
	require.NoError(t, ds.Create(ctx, &bigquery.DatasetMetadata{Location: "EU"}))
	require.NoError(t, ds.Table("people").Create(ctx, &bigquery.TableMetadata{Schema: bigquery.Schema{
		{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
		{Name: "name", Type: bigquery.StringFieldType},
	}}))
	return fake, ds
}

func httpCode(err error) int {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return gerr.Code
	}
	return 0
}

func TestViewsAreStoredWithTheirQueryAndChecked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, ds := viewsBundle(t)
	view := ds.Table("named")
	query := "SELECT p.id, p.name FROM `proj.ds.people` p WHERE p.name IS NOT NULL -- p.nickname is only a comment"
	require.NoError(t, view.Create(ctx, &bigquery.TableMetadata{ViewQuery: query, Description: "People with a name."}))
	md, err := view.Metadata(ctx)
	require.NoError(t, err)
	require.Equal(t, bigquery.ViewTable, md.Type)
	require.Equal(t, query, md.ViewQuery)
	require.False(t, md.UseLegacySQL)
	require.Equal(t, "People with a name.", md.Description)
	require.Empty(t, fake.ViewProblems("proj", "ds"))
	stored, ok := fake.Table("proj", "ds", "named")
	require.True(t, ok)
	require.Equal(t, query, stored.Meta.View.Query)

	// Refused at creation, as BigQuery refuses them.
	for name, c := range map[string]struct {
		md   *bigquery.TableMetadata
		code int
	}{
		"legacy SQL":         {&bigquery.TableMetadata{ViewQuery: "SELECT id FROM [proj:ds.people]", UseLegacySQL: true}, http.StatusBadRequest},
		"a missing table":    {&bigquery.TableMetadata{ViewQuery: "SELECT x.id FROM `proj.ds.nobody` x"}, http.StatusNotFound},
		"an unqualified one": {&bigquery.TableMetadata{ViewQuery: "SELECT id FROM people"}, http.StatusBadRequest},
		"a missing column":   {&bigquery.TableMetadata{ViewQuery: "SELECT p.email FROM `proj.ds.people` AS p"}, http.StatusBadRequest},
	} {
		err := ds.Table("bad").Create(ctx, c.md)
		require.Equal(t, c.code, httpCode(err), "%s: %v", name, err)
	}
	_, exists := fake.Table("proj", "ds", "bad")
	require.False(t, exists)

	// An update changes the query, once it says GoogleSQL again.
	_, err = view.Update(ctx, bigquery.TableMetadataToUpdate{ViewQuery: "SELECT p.id FROM `proj.ds.people` p"}, md.ETag)
	require.Equal(t, http.StatusBadRequest, httpCode(err), "a query without useLegacySql=false is legacy SQL: %v", err)
	updated, err := view.Update(ctx, bigquery.TableMetadataToUpdate{ViewQuery: "SELECT p.id FROM `proj.ds.people` p", UseLegacySQL: false}, md.ETag)
	require.NoError(t, err)
	require.Equal(t, "SELECT p.id FROM `proj.ds.people` p", updated.ViewQuery)
	require.Equal(t, "People with a name.", updated.Description, "what the update does not name stays")
	require.True(t, updated.LastModifiedTime.After(md.LastModifiedTime))

	// A table a view reads that goes away is a problem the check names.
	require.NoError(t, ds.Table("people").Delete(ctx))
	require.Equal(t, []string{"named: table `proj.ds.people` does not exist"}, fake.ViewProblems("proj", "ds"))
}

func TestTableFunctionsAreStoredAndReplaced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, ds := viewsBundle(t)
	r := ds.Routine("people_named")
	md := &bigquery.RoutineMetadata{
		Type: bigquery.TableValuedFunctionRoutine, Language: "SQL", Description: "People of a name.",
		Body:      "SELECT p.id FROM `proj.ds.people` p WHERE p.name = `who`",
		Arguments: []*bigquery.RoutineArgument{{Name: "who", Kind: "FIXED_TYPE", DataType: &bigquery.StandardSQLDataType{TypeKind: "STRING"}}},
		ReturnTableType: &bigquery.StandardSQLTableType{Columns: []*bigquery.StandardSQLField{
			{Name: "id", Type: &bigquery.StandardSQLDataType{TypeKind: "INT64"}},
		}},
	}
	require.NoError(t, r.Create(ctx, md))
	require.Equal(t, http.StatusConflict, httpCode(r.Create(ctx, md)))
	got, err := r.Metadata(ctx)
	require.NoError(t, err)
	require.Equal(t, bigquery.TableValuedFunctionRoutine, got.Type)
	require.Equal(t, md.Body, got.Body)
	require.Equal(t, "who", got.Arguments[0].Name)
	require.Equal(t, "STRING", got.Arguments[0].DataType.TypeKind)
	require.Equal(t, "id", got.ReturnTableType.Columns[0].Name)
	stored, ok := fake.Routine("proj", "ds", "people_named")
	require.True(t, ok)
	require.Equal(t, "People of a name.", stored.Description)

	// routines.update replaces the whole routine, on its etag.
	upd := &bigquery.RoutineMetadataToUpdate{Type: md.Type, Language: md.Language, Body: "SELECT p.id FROM `proj.ds.people` p", Arguments: md.Arguments, ReturnTableType: md.ReturnTableType}
	_, err = r.Update(ctx, upd, "stale-etag")
	require.Equal(t, http.StatusPreconditionFailed, httpCode(err))
	after, err := r.Update(ctx, upd, got.ETag)
	require.NoError(t, err)
	require.Equal(t, "SELECT p.id FROM `proj.ds.people` p", after.Body)
	require.Empty(t, after.Description, "a field the update leaves out is gone")
	require.NotEqual(t, got.ETag, after.ETag)

	// A body that reads no table of the dataset is refused.
	err = ds.Routine("nobody").Create(ctx, &bigquery.RoutineMetadata{Type: bigquery.TableValuedFunctionRoutine, Language: "SQL",
		Body: "SELECT x.id FROM `proj.ds.nobody` x"})
	require.Equal(t, http.StatusNotFound, httpCode(err))
	require.Empty(t, fake.ViewProblems("proj", "ds"))

	require.NoError(t, r.Delete(ctx))
	_, err = r.Metadata(ctx)
	require.Equal(t, http.StatusNotFound, httpCode(err))
}
