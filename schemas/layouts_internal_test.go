package schemas

import "testing"

// A layout keyed by an entity that is not registered (renamed, or a typo)
// would silently lay out nothing.
func TestEveryLayoutIsOfARegisteredEntity(t *testing.T) {
	t.Parallel()
	for entity := range layouts {
		if _, err := Lookup(entity); err != nil {
			t.Errorf("layouts: %v", err)
		}
	}
	if len(layouts) != len(registry) {
		t.Errorf("%d layouts for %d entities", len(layouts), len(registry))
	}
}
