package versions

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/steps/rowdigest"
)

// row is one side's record of a key in these tests.
type row struct {
	id     int
	digest uint64
	known  bool
}

// TestDiffFindsEveryChangeWhateverTheOrder checks the in-step diff against
// a plain comparison of two maps, with the staged side in the orders a
// source returns: as before, with updated rows moved to the end, rotated
// (a synchronized scan starts mid-table), reversed and shuffled; with
// keys new, gone, changed and of unknown digest; with bigint keys and
// composite ones; in memory, on disk and both.
func TestDiffFindsEveryChangeWhateverTheOrder(t *testing.T) {
	const n = 5000
	rnd := rand.New(rand.NewPCG(1, 2))
	current := make([]row, 0, n)
	for id := range n {
		current = append(current, row{id: id, digest: uint64(id) * 7, known: id%97 != 0}) //nolint:gosec // a test id
	}
	// Staged: some changed, some gone, some of unknown digest, some new.
	var staged []row
	for _, r := range current {
		switch {
		case r.id%50 == 3: // gone
			continue
		case r.id%40 == 1:
			r.digest++
		case r.id%301 == 5:
			r.known = false
		}
		staged = append(staged, r)
	}
	for id := n; id < n+120; id++ {
		staged = append(staged, row{id: id, digest: uint64(id), known: true}) //nolint:gosec // a test id
	}
	orders := map[string]func([]row) []row{
		"as before": func(rs []row) []row { return rs },
		"changed rows moved to the end": func(rs []row) []row {
			var still, moved []row
			for _, r := range rs {
				if r.id%40 == 1 {
					moved = append(moved, r)
				} else {
					still = append(still, r)
				}
			}
			return append(still, moved...)
		},
		"rotated":  func(rs []row) []row { k := len(rs) / 3; return append(slices.Clone(rs[k:]), rs[:k]...) },
		"reversed": func(rs []row) []row { rs = slices.Clone(rs); slices.Reverse(rs); return rs },
		"shuffled": func(rs []row) []row {
			rs = slices.Clone(rs)
			rnd.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
			return rs
		},
	}
	want := reference(current, staged)
	for name, order := range orders {
		for _, nkeys := range []int{1, 2} {
			for _, where := range []string{"memory", "disk", "both"} {
				t.Run(fmt.Sprintf("%s/%d key columns/%s", name, nkeys, where), func(t *testing.T) {
					dir := t.TempDir()
					cur := digestSet(t, filepath.Join(dir, "current"), current, nkeys, where)
					stg := digestSet(t, filepath.Join(dir, "staged"), order(staged), nkeys, where)
					var out bytes.Buffer
					var d Diff
					require.NoError(t, diffBuckets(context.Background(), cur, stg, &out, nkeys, &d))
					got := readChanges(t, out.Bytes(), nkeys)
					require.Equal(t, want, got)
					counts := map[string]int64{}
					for _, c := range got {
						counts[c]++
					}
					require.Equal(t, Diff{
						New: counts[changeNew], Changed: counts[changeChanged], Deleted: counts[changeDeleted], Unknown: counts[changeUnknown],
						Unchanged: int64(len(staged)) - counts[changeNew] - counts[changeChanged] - counts[changeUnknown],
					}, d)
				})
			}
		}
	}
}

// reference is the diff by two maps: each key's change, the unchanged
// left out.
func reference(current, staged []row) map[int]string {
	was := map[int]row{}
	for _, r := range current {
		was[r.id] = r
	}
	out := map[int]string{}
	for _, r := range staged {
		old, ok := was[r.id]
		delete(was, r.id)
		switch {
		case !ok:
			out[r.id] = changeNew
		case !old.known || !r.known:
			out[r.id] = changeUnknown
		case old.digest != r.digest:
			out[r.id] = changeChanged
		}
	}
	for id := range was {
		out[id] = changeDeleted
	}
	return out
}

// digestSet saves rows as a load would: a bigint key, or a composite of
// text and bigint; kept in memory, saved and opened, or half of each.
func digestSet(t *testing.T, dir string, rows []row, nkeys int, where string) *rowdigest.Set {
	t.Helper()
	s := rowdigest.New(dir)
	for i, r := range rows {
		if where == "both" && i == len(rows)/2 {
			require.NoError(t, s.Flush())
		}
		require.NoError(t, s.Add(encodeKey(r.id, nkeys), r.digest, r.known))
	}
	if where != "disk" {
		return s
	}
	require.NoError(t, s.Save())
	opened, ok := rowdigest.Open(dir)
	require.True(t, ok)
	t.Cleanup(opened.Close)
	return opened
}

// encodeKey encodes a key as the load does: each field's length, then its
// bytes.
func encodeKey(id, nkeys int) []byte {
	var key []byte
	if nkeys == 2 {
		name := fmt.Sprintf("school-%d", id%13)
		key = binary.BigEndian.AppendUint32(key, uint32(len(name))) //nolint:gosec // short
		key = append(key, name...)
	}
	key = binary.BigEndian.AppendUint32(key, 8)
	return binary.BigEndian.AppendUint64(key, uint64(id)) //nolint:gosec // a test id
}

// readChanges parses the binary COPY tuples of the changes table: the
// key's fields, the digest, the kind of change.
func readChanges(t *testing.T, buf []byte, nkeys int) map[int]string {
	t.Helper()
	out := map[int]string{}
	field := func() []byte {
		n := int32(binary.BigEndian.Uint32(buf)) //nolint:gosec // a COPY field length
		buf = buf[4:]
		if n < 0 {
			return nil
		}
		f := buf[:n]
		buf = buf[n:]
		return f
	}
	for len(buf) > 0 {
		require.Equal(t, uint16(nkeys+2), binary.BigEndian.Uint16(buf))
		buf = buf[2:]
		if nkeys == 2 {
			field()
		}
		id := int(binary.BigEndian.Uint64(field())) //nolint:gosec // a test id
		field()
		change := string(field())
		_, dup := out[id]
		require.False(t, dup, "key %d twice", id)
		out[id] = change
	}
	return out
}
