package reconcile_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

func digestOf(rows ...string) reconcile.Checksum {
	var d reconcile.Digest
	for _, r := range rows {
		d.Add([]byte(r))
	}
	return d.Checksum()
}

func TestDigestIgnoresOrderButNotContent(t *testing.T) {
	t.Parallel()
	a := digestOf("row one", "row two", "row three")
	require.Equal(t, a, digestOf("row three", "row one", "row two"), "order must not matter")
	require.EqualValues(t, 3, a.Rows)
	require.True(t, strings.HasPrefix(a.Sum, reconcile.DigestPrefix), a.Sum)

	require.NotEqual(t, a, digestOf("row one", "row two", "row threE"), "one byte changed")
	require.NotEqual(t, a.Sum, digestOf("row one", "row two").Sum, "one row missing")
	require.NotEqual(t, a, digestOf("row one", "row two", "row three", "row three"), "one row twice")
	require.NotEqual(t, digestOf("ab", "c").Sum, digestOf("a", "bc").Sum, "bytes moved between rows")
	require.Equal(t, reconcile.Checksum{Rows: 0, Sum: "xxh64:0000000000000000"}, digestOf())
}

func TestDigestMerge(t *testing.T) {
	t.Parallel()
	var a, b reconcile.Digest
	a.Add([]byte("x"))
	b.Add([]byte("y"))
	b.Add([]byte("z"))
	a.Merge(b)
	require.Equal(t, digestOf("z", "y", "x"), a.Checksum())
}
