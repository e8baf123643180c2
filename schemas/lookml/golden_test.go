package lookml_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas/lookml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the generator")

// The generated LookML is checked in under testdata/<policy>/, so that a
// change to a contract shows in review as the LookML it changes. After a
// deliberate change: go test ./schemas/lookml/ -run Golden -update
func TestGoldenFiles(t *testing.T) {
	t.Parallel()
	for _, p := range policies {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			files := generate(t, p)
			again := generate(t, p)
			require.Equal(t, files, again, "the output is the same every time")
			dir := filepath.Join("testdata", string(p))
			if *update {
				_, err := lookml.WriteDir(dir, files)
				require.NoError(t, err)
			}
			want := map[string]bool{}
			for _, f := range files {
				want[f.Name] = true
				golden, err := os.ReadFile(filepath.Join(dir, f.Name))
				require.NoError(t, err, "run go test ./schemas/lookml/ -run Golden -update")
				require.Equal(t, string(golden), string(f.Data), "%s differs from %s; if that is meant, run go test ./schemas/lookml/ -run Golden -update", f.Name, dir)
			}
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.True(t, want[e.Name()], "%s/%s is no longer generated", dir, e.Name())
			}
		})
	}
}
