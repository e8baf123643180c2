package schemas_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
)

func TestDictionaryNamesEveryColumnWithItsDescriptionAndPII(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	all := append(schemas.All(), &schemas.RegisterStatuses, &schemas.RECTStatuses)
	require.NoError(t, schemas.WriteDictionary(&b, all))
	doc := b.String()
	for _, c := range all {
		require.Contains(t, doc, "\n## "+c.Entity+"\n")
		for _, col := range c.Fields() {
			row := "| `" + col.Name + "` | " + col.Type.WarehouseType() + " | "
			i := strings.Index(doc[strings.Index(doc, "\n## "+c.Entity+"\n"):], row)
			require.GreaterOrEqual(t, i, 0, "%s.%s is missing", c.Entity, col.Name)
		}
	}
	require.Contains(t, doc, "| `date_of_birth` | date | yes | personal | Trainee's date of birth. |")
	require.Contains(t, doc, "| `ethnic_group` | int4 | yes | special |")
	require.Contains(t, doc, "Codes: 0 draft, 1 submitted_for_trn, 2 trn_received")
}
