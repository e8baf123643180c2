package schemas_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
)

func TestEveryContractIsValid(t *testing.T) {
	t.Parallel()
	for _, c := range schemas.All() {
		require.NoError(t, c.Validate())
		for _, col := range c.Fields() {
			require.NotEmpty(t, strings.TrimSpace(col.Description), "%s.%s needs a description an analyst understands", c.Entity, col.Name)
		}
	}
}

func TestValidateReportsEveryMistake(t *testing.T) {
	t.Parallel()
	c := schemas.Contract{
		Entity: "Bad Name", Source: "register", Table: "t", Mode: schemas.Full, MinSchemaVersion: "2024",
		Columns: []schemas.Column{
			{Name: "id", SourceType: "int8", Type: schemas.Int64, Nullable: true, Description: "id"},
			{Name: "id", SourceType: "int8", Type: schemas.Int64, Description: "again"},
			{Name: "code", SourceType: "text", Type: schemas.Text, Description: "x", Labels: map[int]string{1: "one"}},
			{Name: "nodesc", SourceType: "int4", Type: schemas.Int32},
		},
		PrimaryKey: []string{"id"},
	}
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`entity name "Bad Name"`, "description is required", `min schema version "2024"`,
		"column id appears twice", "column code has labels but is not an integer",
		"column nodesc has no description", "primary key column id must not be nullable",
	} {
		require.Contains(t, err.Error(), want)
	}
}

func TestLabelledColumnsGetADerivedNameColumn(t *testing.T) {
	t.Parallel()
	var names []string
	for _, col := range schemas.Trainees.Fields() {
		names = append(names, col.Name)
	}
	require.Subset(t, names, []string{"state", "state_name", "training_route", "training_route_name"})
	i := strings.Index(strings.Join(names, ","), "state,state_name")
	require.GreaterOrEqual(t, i, 0, "the name follows its code")
	require.Contains(t, schemas.Trainees.SelectSQL(), `CASE "state" WHEN 0 THEN 'draft'`)
	require.Contains(t, schemas.Trainees.SelectSQL(), `ELSE 'unknown_' || "state" END::text AS "state_name"`)
}

// A statuses entity names the entities its rows describe; each must be
// registered and keyed by one integer id, which is what entity_id holds.
func TestStatusOfNamesEntitiesKeyedByID(t *testing.T) {
	for _, c := range schemas.All() {
		if !c.History {
			require.Empty(t, c.StatusOf, "%s is not a statuses entity", c.Entity)
			continue
		}
		require.NotEmpty(t, c.StatusOf, "%s: say which entity each entity_type describes", c.Entity)
		for typ, entity := range c.StatusOf {
			described, err := schemas.Lookup(entity)
			require.NoError(t, err, "%s: entity_type %s", c.Entity, typ)
			require.Equal(t, []string{"id"}, described.PrimaryKey, "%s: %s", c.Entity, entity)
			require.Contains(t, c.Query, "'"+typ+"'", "%s: the query yields no entity_type %s", c.Entity, typ)
		}
	}
}
