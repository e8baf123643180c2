// Package schedules reads the schedule files (schedules/*.yaml): when each
// run fires, in which time zone, for which entities, and by when it must
// have succeeded. It runs nothing itself; `nightshift schedule` does.
package schedules

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// DefaultTimezone is where the services' users are: a run at 02:00 stays
// at 02:00 on the wall clock across the clock changes.
const DefaultTimezone = "Europe/London"

// Schedule is one schedule file.
type Schedule struct {
	// Name identifies the schedule in the ledger (runs.reason) and alerts.
	Name string `yaml:"name"`
	// Cron is a standard five-field cron spec, in Timezone.
	Cron     string `yaml:"cron"`
	Timezone string `yaml:"timezone"`
	// Entities is "all" or a list of entity names.
	Entities EntityList `yaml:"entities"`
	Mode     string     `yaml:"mode"`
	// Deadline is the wall-clock time (HH:MM, in Timezone) by which a firing
	// must have succeeded; after it, one overdue alert goes out.
	Deadline string `yaml:"deadline"`

	File     string         `yaml:"-"`
	location *time.Location `yaml:"-"`
	spec     cron.Schedule  `yaml:"-"`
	dueHour  int            `yaml:"-"`
	dueMin   int            `yaml:"-"`
}

// EntityList is "all" (nil) or names.
type EntityList []string

// UnmarshalYAML accepts "all" or a list.
func (l *EntityList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "all" {
		*l = nil
		return nil
	}
	var names []string
	if err := n.Decode(&names); err != nil {
		return errors.New(`must be "all" or a list of entity names`)
	}
	if len(names) == 0 {
		return errors.New(`must be "all" or a non-empty list of entity names`)
	}
	*l = names
	return nil
}

// Error names the file, the field and what is wrong.
type Error struct {
	File, Field, Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Problem)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Problem)
}

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Load reads every *.yaml file of dir. known lists the entity names a
// schedule may name. Any mistake in any file is an error: a daemon must not
// start with a schedule it cannot honour.
func Load(dir string, known []string) ([]Schedule, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &Error{File: dir, Problem: "no schedule files (*.yaml)"}
	}
	var out []Schedule
	var errs []error
	names := map[string]string{}
	for _, f := range files {
		s, err := parse(f, known)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, dup := names[s.Name]; dup {
			errs = append(errs, &Error{File: f, Field: "name", Problem: fmt.Sprintf("%q is also the name of %s", s.Name, other)})
			continue
		}
		names[s.Name] = f
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

func parse(file string, known []string) (Schedule, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Schedule{}, &Error{File: file, Problem: err.Error()}
	}
	return parseData(file, data, known)
}

// parseData reads one schedule file's contents.
func parseData(file string, data []byte, known []string) (Schedule, error) {
	var err error
	s := Schedule{Timezone: DefaultTimezone, Mode: "full", File: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Schedule{}, &Error{File: file, Problem: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	bad := func(field, problem string) (Schedule, error) {
		return Schedule{}, &Error{File: file, Field: field, Problem: problem}
	}
	if s.Name == "" {
		return bad("name", "is required")
	}
	if s.location, err = time.LoadLocation(s.Timezone); err != nil {
		return bad("timezone", fmt.Sprintf("%q is not a time zone (e.g. Europe/London)", s.Timezone))
	}
	if s.spec, err = parser.Parse(s.Cron); err != nil {
		return bad("cron", fmt.Sprintf("%q: %v", s.Cron, err))
	}
	if s.Mode != "full" {
		return bad("mode", fmt.Sprintf("%q: only full is supported", s.Mode))
	}
	for _, e := range s.Entities {
		if !slices.Contains(known, e) {
			return bad("entities", fmt.Sprintf("unknown entity %q (known: %s)", e, strings.Join(known, ", ")))
		}
	}
	if s.Deadline != "" {
		t, err := time.Parse("15:04", s.Deadline)
		if err != nil {
			return bad("deadline", fmt.Sprintf("%q is not a time of day like 07:00", s.Deadline))
		}
		s.dueHour, s.dueMin = t.Hour(), t.Minute()
	}
	return s, nil
}

// Next is the first firing strictly after t.
func (s Schedule) Next(t time.Time) time.Time {
	return s.spec.Next(t.In(s.location))
}

// Previous is the last firing at or before t, looking back at most
// within; ok is false if there was none.
func (s Schedule) Previous(t time.Time, within time.Duration) (time.Time, bool) {
	var last time.Time
	for f := s.Next(t.Add(-within - time.Second)); !f.After(t); f = s.Next(f) {
		last = f
	}
	return last, !last.IsZero()
}

// DeadlineFor is when a firing must have succeeded by: the schedule's
// deadline on the firing's day (the next day if that is not after the
// firing), in its time zone. ok is false when the schedule has none.
func (s Schedule) DeadlineFor(fire time.Time) (time.Time, bool) {
	if s.Deadline == "" {
		return time.Time{}, false
	}
	// Wall-clock time on the firing's day, not an offset from midnight,
	// which would drift by an hour on the days the clocks change.
	local := fire.In(s.location)
	d := time.Date(local.Year(), local.Month(), local.Day(), s.dueHour, s.dueMin, 0, 0, s.location)
	if !d.After(fire) {
		d = time.Date(local.Year(), local.Month(), local.Day()+1, s.dueHour, s.dueMin, 0, 0, s.location)
	}
	return d, true
}
