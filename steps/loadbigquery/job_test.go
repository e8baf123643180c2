package loadbigquery

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
)

func TestVerifyRowsTrustsStatisticsOnlyWhenTheyAgree(t *testing.T) {
	t.Parallel()
	load := func(rows int64) *bigquery.JobStatus {
		return &bigquery.JobStatus{State: bigquery.Done, Statistics: &bigquery.JobStatistics{Details: &bigquery.LoadStatistics{OutputRows: rows, InputFiles: 1}}}
	}
	counted := func(n int64, err error) (counter, *int) {
		calls := 0
		return func(context.Context) (int64, error) { calls++; return n, err }, &calls
	}
	for _, tc := range []struct {
		name     string
		status   *bigquery.JobStatus
		count    int64
		countErr error
		want     string // "" for success
		class    pipeline.Class
		counts   int
	}{
		{name: "statistics agree", status: load(5), counts: 0},
		{name: "no status", status: nil, count: 5, counts: 1},
		{name: "no statistics", status: &bigquery.JobStatus{State: bigquery.Done}, count: 5, counts: 1},
		{name: "statistics without load details", status: &bigquery.JobStatus{Statistics: &bigquery.JobStatistics{}}, count: 5, counts: 1},
		{name: "query details where load ones belong", status: &bigquery.JobStatus{Statistics: &bigquery.JobStatistics{Details: &bigquery.QueryStatistics{}}}, count: 5, counts: 1},
		{name: "a nil load details pointer", status: &bigquery.JobStatus{Statistics: &bigquery.JobStatistics{Details: (*bigquery.LoadStatistics)(nil)}}, count: 5, counts: 1},
		{name: "outputRows missing reads 0", status: load(0), count: 5, counts: 1},
		{name: "statistics that disagree are checked", status: load(4), count: 5, counts: 1},
		{name: "the destination disagrees", status: nil, count: 4, counts: 1,
			want: "load job j1 reported no statistics, and its destination holds 4 rows: the file it loaded has 5", class: pipeline.Permanent},
		{name: "both disagree", status: load(3), count: 4, counts: 1,
			want: "load job j1 reported 3 output rows, and its destination holds 4 rows", class: pipeline.Permanent},
		{name: "the count fails", status: nil, countErr: pipeline.MarkTransient(errors.New("backendError")), counts: 1,
			want: "load job j1 reported no statistics, and its destination could not be counted: backendError", class: pipeline.Transient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			count, calls := counted(tc.count, tc.countErr)
			got, err := verifyRows(context.Background(), "j1", tc.status, 5, count)
			require.Equal(t, tc.counts, *calls)
			if tc.want == "" {
				require.NoError(t, err)
				require.EqualValues(t, 5, got)
				return
			}
			require.ErrorContains(t, err, tc.want)
			require.Equal(t, tc.class, pipeline.Classify(err))
		})
	}
}

func TestJobFailuresCarryBigQuerysDetails(t *testing.T) {
	t.Parallel()
	result := &bigquery.Error{Reason: "invalid", Message: "Error while reading data"}
	require.Empty(t, details(result, []*bigquery.Error{result}))
	var errs []*bigquery.Error
	for _, loc := range []string{"a", "b", "c", "d", "e"} {
		errs = append(errs, &bigquery.Error{Reason: "invalid", Location: loc, Message: "bad value"})
	}
	got := details(result, append([]*bigquery.Error{result, nil}, errs...))
	require.Contains(t, got, "Location: \"a\"")
	require.Contains(t, got, "Location: \"c\"")
	require.NotContains(t, got, "Location: \"d\"")
	require.Contains(t, got, "and 2 more")
}

func TestAnUnknownPolicyLetsNothingPersonalOut(t *testing.T) {
	t.Parallel()
	for _, p := range []PIIPolicy{PIIDrop, "", "Hash"} {
		for _, col := range columns(&schemas.Trainees, p) {
			require.Equal(t, schemas.PIINone, col.PII, "%q: %s", p, col.Name)
		}
	}
}

func TestPrepareRefusesToHashWithoutAKey(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{{Name: "started_by", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("someone@somewhere")
	rec := b.NewRecordBatch()
	defer rec.Release()
	rr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	defer rr.Release()
	shape := classifiedShape([]classified{{&bigquery.FieldSchema{Name: "started_by", Type: bigquery.StringFieldType}, schemas.PIIPersonal}}, PIIHash)
	_, err = prepare(rr, filepath.Join(t.TempDir(), "out.parquet"), shape, nil, memory.DefaultAllocator)
	require.ErrorContains(t, err, "column started_by is to be hashed, and there is no key")
	require.Equal(t, pipeline.Permanent, pipeline.Classify(err))
}

// What leaves for BigQuery leaves through prepare: only loadFrom makes a
// load job's source, and only prepare makes an upload, which is all
// loadFrom takes. Anything else in the module that sends rows to BigQuery
// (a reader source, a GCS reference, a streaming inserter) fails this test,
// so that a new path cannot skip the PII policy unnoticed.
func TestOnlyPrepareMakesWhatLeavesForBigQuery(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	senders := map[string]bool{"NewReaderSource": true, "NewGCSReference": true, "LoaderFrom": true, "Inserter": true}
	var found []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			// The fake and tests may send what they like.
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin" || rel == filepath.Join("internal", "bqtest")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range file.Decls {
			fn, _ := decl.(*ast.FuncDecl)
			where := rel
			if fn != nil {
				where += ":" + fn.Name.Name
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if senders[n.Sel.Name] {
						found = append(found, where+" "+n.Sel.Name)
					}
				case *ast.CompositeLit:
					// upload{} is no file at all; upload{File: …} is one.
					if id, ok := n.Type.(*ast.Ident); ok && id.Name == "upload" && len(n.Elts) > 0 && file.Name.Name == "loadbigquery" {
						found = append(found, where+" upload{}")
					}
				}
				return true
			})
		}
		return nil
	})
	require.NoError(t, err)
	job, file := filepath.Join("steps", "loadbigquery", "job.go"), filepath.Join("steps", "loadbigquery", "file.go")
	require.ElementsMatch(t, []string{
		job + ":loadFrom NewReaderSource", job + ":loadFrom LoaderFrom",
		file + ":prepare upload{}",
	}, found)
}
