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
		_, section, found := strings.Cut(doc, "\n## "+c.Entity+"\n")
		require.True(t, found, "no section for %s", c.Entity)
		section, _, _ = strings.Cut(section, "\n## ")
		for _, col := range c.Fields() {
			require.Contains(t, section, "| `"+col.Name+"` | "+col.WarehouseType()+" | ", "%s.%s is missing", c.Entity, col.Name)
		}
	}
	require.Contains(t, doc, "| `date_of_birth` | date | yes | personal | Trainee's date of birth. |")
	require.Contains(t, doc, "| `ethnic_group` | int4 | yes | special |")
	require.Contains(t, doc, "Codes: 0 draft, 1 submitted_for_trn, 2 trn_received")
	// Decimals show the precision and scale they are held at.
	require.Contains(t, doc, "| `vat_rate` | numeric(3,2) | no | none |")
	require.Contains(t, doc, "| `uplift_target_ratio` | numeric(5,4) | yes | none |")
	require.Contains(t, doc, "| `amount` | numeric(38,9) | no | none | Amount in pounds")
}
