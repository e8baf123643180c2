package recovery

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCopyFieldsUndoesTheTextFormat(t *testing.T) {
	t.Parallel()
	got, err := copyFields(`1` + "\t" + `\N` + "\t" + `a\tb\nc\\d\re` + "\t" + `\101\x42\b\f\v` + "\t" + `O'Brien`)
	require.NoError(t, err)
	require.Len(t, got, 5)
	require.Equal(t, "1", *got[0])
	require.Nil(t, got[1], `\N is NULL`)
	require.Equal(t, "a\tb\nc\\d\re", *got[2])
	require.Equal(t, "AB\b\f\v", *got[3])
	require.Equal(t, "O'Brien", *got[4])
	_, err = copyFields(`ends\`)
	require.Error(t, err)
}

func TestSQLLiteralMeansTheSameWhateverTheSettings(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	require.Equal(t, "NULL", sqlLiteral(nil))
	require.Equal(t, "''", sqlLiteral(s("")), "an empty string is not NULL")
	require.Equal(t, "'O''Brien'", sqlLiteral(s("O'Brien")))
	require.Equal(t, `E'C:\\dir\\''x'''`, sqlLiteral(s(`C:\dir\'x'`)))
}

func TestEscapeCopyIsUndoneByCopyFields(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"plain", "tab\there", "new\nline", `back\slash`, "cr\r", `\N`} {
		got, err := copyFields(escapeCopy(v))
		require.NoError(t, err)
		require.Equal(t, v, *got[0], v)
	}
}
