package schemas

import (
	"fmt"
	"slices"
	"strings"
)

// Layout is how an entity's BigQuery table is partitioned and clustered.
// BigQuery bills a query by the bytes of the columns it reads in the
// partitions it cannot skip, and reads fewer blocks of a clustered table
// when the query filters on the clustering columns; so the layout follows
// what analysts filter on in Looker, not how the source stores the rows.
//
// BigQuery cannot change a table's partitioning in place: a different
// Partition is a migration (`nightshift bigquery relayout`), which a run
// refuses to do by itself. Clustering can be changed in place and is.
type Layout struct {
	// Partition, when set, splits the table by one column.
	Partition *Partition
	// Cluster sorts the table's blocks (within each partition) by up to
	// MaxClusterColumns columns, the one filtered on most first.
	Cluster []string
	// Why says what the choice is for, in the data dictionary: every
	// contract says it, the choice of no layout included.
	Why string
}

// Partition splits a table by one column: by time (By) for a Date or
// Timestamp column, or by ranges of an integer column (Range).
//
// BigQuery puts rows whose partitioning value is NULL in a partition of
// their own, __NULL__; rows with a date before 1960-01-01 or after
// 2159-12-31, or an integer outside the range, in __UNPARTITIONED__. They
// are kept and queried like any other rows, only never pruned.
type Partition struct {
	Column string
	By     Granularity
	Range  *IntegerRange
}

// Granularity is the span of one time partition.
type Granularity string

const (
	// ByDay is one partition per day, which a contract cannot choose:
	// every run rewrites a whole table, and a load job may modify at most
	// MaxPartitionsPerJob partitions, which eleven years of days exceed.
	// (The statuses' _daily tables are partitioned by day because each
	// load writes one day.)
	ByDay   Granularity = "DAY"
	ByMonth Granularity = "MONTH"
	ByYear  Granularity = "YEAR"
)

// IntegerRange partitions an integer column into [Start, End) in steps of
// Interval: one partition per step.
type IntegerRange struct {
	Start, End, Interval int64
}

// BigQuery's limits that a layout must respect
// (https://cloud.google.com/bigquery/quotas#partitioned_tables,
// https://cloud.google.com/bigquery/docs/clustered-tables).
const (
	// MaxClusterColumns is how many columns a table can be clustered by.
	MaxClusterColumns = 4
	// MaxPartitionsPerJob is how many partitions one load, copy or query
	// job may modify. A run's WRITE_TRUNCATE load modifies every partition
	// the table has rows in, so a layout must never produce more. (A table
	// may hold 10,000.)
	MaxPartitionsPerJob = 4000
)

// partitions is the most partitions the layout can give a table, besides
// __NULL__ and __UNPARTITIONED__: time partitions cover 1960 to 2159.
func (p *Partition) partitions() int64 {
	switch {
	case p.Range != nil:
		if p.Range.Interval <= 0 || p.Range.End <= p.Range.Start {
			return 0
		}
		return (p.Range.End - p.Range.Start + p.Range.Interval - 1) / p.Range.Interval
	case p.By == ByYear:
		return 200
	case p.By == ByMonth:
		return 200 * 12
	case p.By == ByDay:
		return 73049 // 1960-01-01 to 2159-12-31
	}
	return 0
}

// String says how the partition splits the table, in Markdown.
func (p *Partition) String() string {
	if p.Range != nil {
		return fmt.Sprintf("ranges of `%s`, %d to %d in steps of %d", p.Column, p.Range.Start, p.Range.End, p.Range.Interval)
	}
	return fmt.Sprintf("%s of `%s`", strings.ToLower(string(p.By)), p.Column)
}

// Describe says, in a phrase of Markdown, how the table is laid out.
func (l Layout) Describe() string {
	parts := []string{"not partitioned"}
	if l.Partition != nil {
		parts[0] = "partitioned by " + l.Partition.String()
	}
	if len(l.Cluster) == 0 {
		parts = append(parts, "not clustered")
	} else {
		parts = append(parts, "clustered by `"+strings.Join(l.Cluster, "`, `")+"`")
	}
	return strings.Join(parts, ", ")
}

// validate reports every mistake in the contract's BigQuery layout.
// Columns are looked up among Fields, so a derived <code>_name column can
// cluster a table as well as its code.
func (l Layout) validate(c *Contract) []string {
	var bad []string
	if strings.TrimSpace(l.Why) == "" {
		bad = append(bad, "its BigQuery layout needs a Why: say what analysts filter on, or why the table is left as it is")
	}
	fields := map[string]Column{}
	for _, col := range c.Fields() {
		fields[col.Name] = col
	}
	// A personal column reaches BigQuery hashed (a STRING that sorts in
	// no useful order) or not at all (the drop policy).
	usable := func(role, name string) (Column, bool) {
		col, ok := fields[name]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("BigQuery %s column %s is not a column", role, name))
		case col.PII != PIINone:
			bad = append(bad, fmt.Sprintf("BigQuery %s column %s is %s data: BigQuery holds it hashed or not at all", role, name, col.PII))
			ok = false
		}
		return col, ok
	}
	if p := l.Partition; p != nil {
		col, ok := usable("partition", p.Column)
		switch {
		case (p.By == "") == (p.Range == nil):
			bad = append(bad, "a BigQuery partition is either by time (By) or by integer ranges (Range)")
		case p.Range != nil:
			if ok && col.Type != Int16 && col.Type != Int32 && col.Type != Int64 {
				bad = append(bad, fmt.Sprintf("BigQuery partition column %s is %s: integer ranges need an integer", p.Column, col.Type))
			}
			if p.Range.Interval <= 0 || p.Range.End <= p.Range.Start {
				bad = append(bad, fmt.Sprintf("BigQuery partition range %d to %d in steps of %d is empty", p.Range.Start, p.Range.End, p.Range.Interval))
			}
		default:
			if ok && col.Type != Date && col.Type != Timestamp {
				bad = append(bad, fmt.Sprintf("BigQuery partition column %s is %s: time partitions need a date or a timestamp", p.Column, col.Type))
			}
			if !slices.Contains([]Granularity{ByDay, ByMonth, ByYear}, p.By) {
				bad = append(bad, fmt.Sprintf("BigQuery partitions by %q: by DAY, MONTH or YEAR", p.By))
			}
		}
		if n := p.partitions(); n > MaxPartitionsPerJob {
			bad = append(bad, fmt.Sprintf("BigQuery partitioning by %s can give %d partitions: every run rewrites the whole table, "+
				"and a load job may modify at most %d, so choose a coarser one", p, n, MaxPartitionsPerJob))
		}
	}
	if len(l.Cluster) > MaxClusterColumns {
		bad = append(bad, fmt.Sprintf("BigQuery clusters by at most %d columns, not %d", MaxClusterColumns, len(l.Cluster)))
	}
	for i, name := range l.Cluster {
		if slices.Contains(l.Cluster[:i], name) {
			bad = append(bad, fmt.Sprintf("BigQuery clustering names %s twice", name))
			continue
		}
		// BigQuery clusters by top-level scalars it can order: not FLOAT64
		// or JSON.
		if col, ok := usable("clustering", name); ok && (col.Type == Float64 || col.Type == JSON) {
			bad = append(bad, fmt.Sprintf("BigQuery cannot cluster by %s, a %s column", name, col.Type))
		}
	}
	return bad
}
