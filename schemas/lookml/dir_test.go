package lookml_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas/lookml"
)

// WriteDir replaces the files it generated and removes those no longer
// generated, and never touches a file it did not write: a refinement
// survives, and a hand-written file in a generated file's place stops it
// before anything changes.
func TestWriteDirOwnsOnlyItsFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "looker")
	files := generate(t, lookml.Hash)
	removed, err := lookml.WriteDir(dir, files)
	require.NoError(t, err)
	require.Empty(t, removed)
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, f.Name))
		require.NoError(t, err)
		require.Equal(t, string(f.Data), string(got))
	}

	mine := filepath.Join(dir, "trainees.refinements.lkml")
	require.NoError(t, os.WriteFile(mine, []byte("view: +trainees {}\n"), 0o600))
	// A view of a table that went away, from an earlier generation.
	stale := filepath.Join(dir, "old_table.view.lkml")
	require.NoError(t, os.WriteFile(stale, files[0].Data, 0o600))
	removed, err = lookml.WriteDir(dir, files)
	require.NoError(t, err)
	require.Equal(t, []string{"old_table.view.lkml"}, removed)
	require.NoFileExists(t, stale)
	require.FileExists(t, mine)

	handWritten := filepath.Join(dir, "trainees.view.lkml")
	require.NoError(t, os.WriteFile(handWritten, []byte("view: trainees {}\n"), 0o600))
	require.NoError(t, os.Remove(filepath.Join(dir, "providers.view.lkml")))
	_, err = lookml.WriteDir(dir, files)
	require.ErrorContains(t, err, "trainees.view.lkml not written by nightshift lookml")
	require.NoFileExists(t, filepath.Join(dir, "providers.view.lkml"), "nothing is written when a file is in the way")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotRegexp(t, `^\.`, e.Name(), "no temporary file is left behind")
	}
}
