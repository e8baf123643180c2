package loadbigquery

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"cloud.google.com/go/bigquery"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// layout is a table's partitioning and clustering in the client's terms:
// the contract's (layoutOf) or a table's (layoutOfTable).
type layout struct {
	time    *bigquery.TimePartitioning
	ranges  *bigquery.RangePartitioning
	cluster *bigquery.Clustering
	// timestamp says the time partitioning column is a TIMESTAMP, not a
	// DATE: it decides how the DDL names the partitioning.
	timestamp bool
}

// layoutOf is the layout the contract asks for.
func layoutOf(c *schemas.Contract) layout {
	var l layout
	if p := c.BigQuery.Partition; p != nil {
		if p.Range != nil {
			l.ranges = &bigquery.RangePartitioning{Field: p.Column, Range: &bigquery.RangePartitioningRange{
				Start: p.Range.Start, End: p.Range.End, Interval: p.Range.Interval,
			}}
		} else {
			l.time = &bigquery.TimePartitioning{Type: bigquery.TimePartitioningType(p.By), Field: p.Column}
			col, _ := c.Column(p.Column)
			l.timestamp = col.Type == schemas.Timestamp
		}
	}
	if len(c.BigQuery.Cluster) > 0 {
		l.cluster = &bigquery.Clustering{Fields: slices.Clone(c.BigQuery.Cluster)}
	}
	return l
}

func layoutOfTable(md *bigquery.TableMetadata) layout {
	l := layout{time: md.TimePartitioning, ranges: md.RangePartitioning, cluster: md.Clustering}
	if l.time != nil {
		i := slices.IndexFunc(md.Schema, func(f *bigquery.FieldSchema) bool { return f.Name == l.time.Field })
		l.timestamp = i >= 0 && md.Schema[i].Type != bigquery.DateFieldType
	}
	return l
}

// partitioning says how the layout partitions a table, in the terms of
// BigQuery's DDL, which is also how to ask for it by hand.
func (l layout) partitioning() string {
	switch {
	case l.time != nil && l.time.Field == "":
		return "PARTITION BY _PARTITIONDATE (ingestion time, by " + string(l.time.Type) + ")"
	case l.time != nil && l.timestamp:
		return fmt.Sprintf("PARTITION BY TIMESTAMP_TRUNC(%s, %s)", l.time.Field, timeType(l.time))
	case l.time != nil && timeType(l.time) == bigquery.DayPartitioningType:
		return "PARTITION BY " + l.time.Field
	case l.time != nil:
		return fmt.Sprintf("PARTITION BY DATE_TRUNC(%s, %s)", l.time.Field, timeType(l.time))
	case l.ranges != nil && l.ranges.Range != nil:
		r := l.ranges.Range
		return fmt.Sprintf("PARTITION BY RANGE_BUCKET(%s, GENERATE_ARRAY(%d, %d, %d))", l.ranges.Field, r.Start, r.End, r.Interval)
	}
	return "no partitioning"
}

func (l layout) clustering() string {
	if l.cluster == nil || len(l.cluster.Fields) == 0 {
		return "no clustering"
	}
	return "CLUSTER BY " + strings.Join(l.cluster.Fields, ", ")
}

func (l layout) String() string { return l.partitioning() + ", " + l.clustering() }

// ddl is the layout as the clauses of a CREATE TABLE statement.
func (l layout) ddl() string {
	var clauses []string
	if l.time != nil || l.ranges != nil {
		clauses = append(clauses, l.partitioning())
	}
	if l.cluster != nil && len(l.cluster.Fields) > 0 {
		clauses = append(clauses, l.clustering())
	}
	return strings.Join(clauses, " ")
}

// samePartitioning compares what BigQuery cannot change in place.
func (l layout) samePartitioning(o layout) bool {
	switch {
	case (l.time == nil) != (o.time == nil), (l.ranges == nil) != (o.ranges == nil):
		return false
	case l.time != nil:
		return timeType(l.time) == timeType(o.time) && l.time.Field == o.time.Field
	case l.ranges != nil:
		return l.ranges.Field == o.ranges.Field && rangeOf(l.ranges) == rangeOf(o.ranges)
	}
	return true
}

// timeType is the partitioning's type; BigQuery reads none as DAY.
func timeType(tp *bigquery.TimePartitioning) bigquery.TimePartitioningType {
	if tp.Type == "" {
		return bigquery.DayPartitioningType
	}
	return tp.Type
}

func rangeOf(rp *bigquery.RangePartitioning) bigquery.RangePartitioningRange {
	if rp.Range == nil {
		return bigquery.RangePartitioningRange{}
	}
	return *rp.Range
}

func (l layout) sameClustering(o layout) bool {
	var a, b []string
	if l.cluster != nil {
		a = l.cluster.Fields
	}
	if o.cluster != nil {
		b = o.cluster.Fields
	}
	return slices.Equal(a, b)
}

// clusteringUpdate is the tables.patch that gives a table l's clustering:
// an empty field list removes it.
func (l layout) clusteringUpdate() bigquery.TableMetadataToUpdate {
	if l.cluster == nil {
		return bigquery.TableMetadataToUpdate{Clustering: &bigquery.Clustering{}}
	}
	return bigquery.TableMetadataToUpdate{Clustering: &bigquery.Clustering{Fields: slices.Clone(l.cluster.Fields)}}
}

// LayoutChangeError is a BigQuery table of the entity whose partitioning
// differs from its contract's. BigQuery cannot repartition a table in
// place, and a load that asked for the contract's partitioning would fail
// (the load's spec must match the table's): rebuilding the table is a
// migration someone decides on, so the load is refused before it changes
// anything, saying how.
type LayoutChangeError struct {
	Dataset, Entity string
	// Tables is each table (the entity's, its __previous, its __discarded)
	// whose partitioning differs, with what it has.
	Tables []string
	Have   []string
	// Want is the contract's layout, and WantDDL the same as clauses of
	// CREATE TABLE.
	Want, WantDDL string
}

func (e *LayoutChangeError) Error() string {
	var tables []string
	for i, t := range e.Tables {
		tables = append(tables, fmt.Sprintf("%s.%s has %s", e.Dataset, t, e.Have[i]))
	}
	return fmt.Sprintf("BigQuery %s: %s, but its contract says %s. BigQuery cannot change a table's partitioning in place, "+
		"so nothing was loaded into them: rebuild them with `nightshift bigquery relayout --entity %s --reason TEXT` (add --dry-run "+
		"to see the plan; each table is copied into a new one laid out as the contract says, as CREATE TABLE … %s AS SELECT * FROM … "+
		"would, its rows counted, and swapped in), then `nightshift retry` this run to load them",
		e.Entity, strings.Join(tables, "; "), e.Want, e.Entity, e.WantDDL)
}

// slots are the tables an entity has in BigQuery, which copy jobs move
// data between (keep previous, restore): they must share one layout, since
// a copy into an existing table of another partitioning fails.
func slots(entity string) []string {
	return []string{entity, PreviousTable(entity), DiscardedTable(entity)}
}

// conformLayout checks the entity's existing tables against the contract's
// layout before a load changes anything. A table partitioned otherwise is
// refused (a *LayoutChangeError, permanent). Clustering is changed in
// place (tables.patch), since BigQuery allows it and the load that follows
// rewrites every row of the table under the new clustering: nothing is
// left half-sorted, and results do not change, only what queries cost. It
// returns the tables whose clustering it changed. md is the entity's
// table's metadata.
func (l *Load) conformLayout(ctx context.Context, ds *bigquery.Dataset, md *bigquery.TableMetadata) ([]string, error) {
	c := l.Contract
	want := layoutOf(c)
	type found struct {
		name string
		md   *bigquery.TableMetadata
	}
	var tables []found
	for i, name := range slots(c.Entity) {
		if i == 0 {
			tables = append(tables, found{name, md})
			continue
		}
		smd, err := ds.Table(name).Metadata(ctx)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("bigquery %s: %w", name, classify(err))
		}
		tables = append(tables, found{name, smd})
	}
	refused := &LayoutChangeError{Dataset: l.Dataset, Entity: c.Entity, Want: want.String(), WantDDL: want.ddl()}
	for _, t := range tables {
		if have := layoutOfTable(t.md); !have.samePartitioning(want) {
			refused.Tables, refused.Have = append(refused.Tables, t.name), append(refused.Have, have.String())
		}
	}
	if len(refused.Tables) > 0 {
		return nil, pipeline.MarkPermanent(refused)
	}
	var changed []string
	for _, t := range tables {
		if layoutOfTable(t.md).sameClustering(want) {
			continue
		}
		if _, err := ds.Table(t.name).Update(ctx, want.clusteringUpdate(), ""); err != nil {
			return changed, fmt.Errorf("bigquery %s: change its clustering to the contract's (%s): %w", t.name, want.clustering(), classify(err))
		}
		changed = append(changed, t.name)
	}
	return changed, nil
}
