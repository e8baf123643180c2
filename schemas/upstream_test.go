package schemas_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// The demo and test sources copy the schema.rb the contracts were checked
// against: their newest migration is that schema.rb's version, so a run
// against them reports no newer source, and moving one without the other
// fails here.
func TestUpstreamIsTheVersionTheSourceSchemasCopy(t *testing.T) {
	t.Parallel()
	for _, source := range []string{"register", "rect"} {
		up, ok := schemas.UpstreamOf(source)
		require.True(t, ok, source)
		require.Equal(t, source, up.Source)
		require.Len(t, up.Commit, 40, source)
		require.Equal(t, up.Version, slices.Max(readSourceSchema(t, source).migrations), "%s: sql/source/%s/schema.sql", source, source)
	}
	_, ok := schemas.UpstreamOf("src")
	require.False(t, ok, "a source nobody checked has no upstream")
}

func TestUpstreamNewer(t *testing.T) {
	t.Parallel()
	up := schemas.Upstream{Source: "rect", Version: "20260813112837"}
	for version, newer := range map[string]bool{
		"20260813112837":  false,
		"20260813112836":  false,
		"20250101000000":  false,
		"":                false,
		"20260813112838":  true,
		"20270101000000":  true,
		"202608131128370": true, // a longer version is a later one
	} {
		require.Equal(t, newer, up.Newer(version), version)
	}
}
