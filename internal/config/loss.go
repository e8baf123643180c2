package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// Loss is the publish's circuit breaker (README.md, Loss detection): an
// entity whose published rows disappeared past these thresholds, or whose
// source went back in time, refuses the publish.
type Loss struct {
	// MaxDeletedFraction is the share of the published rows that may be
	// missing from the staged table (default 0.05).
	MaxDeletedFraction float64 `yaml:"max_deleted_fraction"`
	// MinDeletedRows is the fewest missing rows that can trip the check
	// (default 100), so that a small table does not trip on a handful.
	MinDeletedRows int64 `yaml:"min_deleted_rows"`
	// Entities overrides the settings per entity.
	Entities map[string]EntityLoss `yaml:"entities"`
}

// EntityLoss is one entity's override of the loss thresholds.
type EntityLoss struct {
	MaxDeletedFraction *float64 `yaml:"max_deleted_fraction"`
}

// MaxFraction is the deleted fraction entity may lose without tripping.
func (l Loss) MaxFraction(entity string) float64 {
	if e, ok := l.Entities[entity]; ok && e.MaxDeletedFraction != nil {
		return *e.MaxDeletedFraction
	}
	return l.MaxDeletedFraction
}

// setLoss applies NIGHTSHIFT_LOSS_MAX_DELETED_FRACTION,
// NIGHTSHIFT_LOSS_MIN_DELETED_ROWS and
// NIGHTSHIFT_LOSS_ENTITIES_<ENTITY>_MAX_DELETED_FRACTION.
func setLoss(l *Loss, name, value string) error {
	fraction := func() (float64, error) {
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a fraction such as 0.05", value)
		}
		return f, nil
	}
	switch {
	case name == "MAX_DELETED_FRACTION":
		f, err := fraction()
		l.MaxDeletedFraction = f
		return err
	case name == "MIN_DELETED_ROWS":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", value)
		}
		l.MinDeletedRows = n
		return nil
	case strings.HasPrefix(name, "ENTITIES_") && strings.HasSuffix(name, "_MAX_DELETED_FRACTION"):
		entity := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(name, "ENTITIES_"), "_MAX_DELETED_FRACTION"))
		f, err := fraction()
		if err != nil {
			return err
		}
		if l.Entities == nil {
			l.Entities = map[string]EntityLoss{}
		}
		l.Entities[entity] = EntityLoss{MaxDeletedFraction: &f}
		return nil
	}
	return errUnknown
}

// validate checks the thresholds and that each override names an entity.
func (l Loss) validate(bad func(setting, problem string)) {
	if l.MaxDeletedFraction < 0 || l.MaxDeletedFraction > 1 {
		bad("loss.max_deleted_fraction", fmt.Sprintf("must be between 0 and 1, not %g", l.MaxDeletedFraction))
	}
	if l.MinDeletedRows < 0 {
		bad("loss.min_deleted_rows", fmt.Sprintf("must be 0 or more, not %d", l.MinDeletedRows))
	}
	names := schemas.Names()
	for _, entity := range slices.Sorted(maps.Keys(l.Entities)) {
		if !slices.Contains(names, entity) {
			bad("loss.entities."+entity, fmt.Sprintf("is not an entity; the entities are %s", strings.Join(names, ", ")))
			continue
		}
		if f := l.Entities[entity].MaxDeletedFraction; f != nil && (*f < 0 || *f > 1) {
			bad("loss.entities."+entity+".max_deleted_fraction", fmt.Sprintf("must be between 0 and 1, not %g", *f))
		}
	}
}
