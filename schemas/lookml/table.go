package lookml

import (
	"strings"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// Table is a BigQuery table as the LookML describes it: each gets a view,
// and each in Options.Tables an explore of its own.
type Table struct {
	// Name is the table's name in the dataset, and its view's.
	Name        string
	Description string
	// Columns are the table's columns typed as the contracts type them, PII
	// class included: the policy applies to them as to an entity's. A
	// labelled column is followed by its derived _name column, as
	// Contract.Fields gives them.
	Columns []schemas.Column
	// Repeated names the columns that are ARRAY<STRING> in BigQuery; a view
	// shows their values joined by ", ".
	Repeated []string
	// PrimaryKey lists the columns that identify a row.
	PrimaryKey []string
	// Describes is, for a table of statuses, the statuses contract whose
	// rows it holds: its explore joins each row to the entity the row is
	// the status of.
	Describes *schemas.Contract
	// Filter is asked of every query of the table's explore (the analyst
	// can change its value): on a table partitioned by day, a recent range,
	// so that a query reads only the partitions it needs.
	Filter Filter
	// Measures are the table's measures beyond its count.
	Measures []Measure
	// Trigger, when set, is a query whose result changes when the table
	// records a new load (${TABLE} stands for the table): the model's
	// cached results are refreshed then.
	Trigger string
}

// Filter filters a column; a date or timestamp column by its day. Value is a
// Looker filter expression ("30 days", "succeeded").
type Filter struct {
	Column, Value string
}

// Measure is a measure beyond a view's count.
type Measure struct {
	Name        string
	Description string
	// Type is the LookML measure type: count, count_distinct, number, string…
	Type string
	// SQL is its expression, with ${field} for the view's fields; empty for
	// a count.
	SQL string
	// Filters restrict an aggregate measure to some rows.
	Filters []Filter
}

// entityTable is an entity's BigQuery table: every column of the
// contract's, derived _name columns included.
func entityTable(c *schemas.Contract) Table {
	t := Table{Name: c.Entity, Description: c.Description, Columns: c.Fields(), PrimaryKey: c.PrimaryKey}
	if c.History {
		t.Describes = c
	}
	return t
}

// HistoryTable is the day-by-day history BigQuery keeps of a statuses
// entity (steps/loadbigquery's DailyTable): one partition per day, each
// with the status of every entity as observed that day. Its explore asks
// for the last 30 days unless the analyst says otherwise.
func HistoryTable(name string, statuses *schemas.Contract) Table {
	observed := schemas.Column{
		Name: "observed_on", Type: schemas.Date,
		Description: "Day the statuses were observed (the run's snapshot, UTC); the table is partitioned by it.",
	}
	parts := make([]string, len(statuses.PrimaryKey))
	for i, k := range statuses.PrimaryKey {
		parts[i] = "CAST(${" + k + "} AS STRING)"
	}
	entity := parts[0]
	if len(parts) > 1 {
		entity = "CONCAT(" + strings.Join(parts, ", '|', ") + ")"
	}
	return Table{
		Name:        name,
		Description: "History of " + statuses.Entity + ", day by day: " + statuses.Description,
		Columns:     append([]schemas.Column{observed}, statuses.Fields()...),
		PrimaryKey:  append([]string{observed.Name}, statuses.PrimaryKey...),
		Describes:   statuses,
		Filter:      Filter{Column: observed.Name, Value: "30 days"},
		Measures: []Measure{{
			Name: "entities_count", Type: "count_distinct", SQL: entity,
			Description: "Distinct entities (" + strings.Join(statuses.PrimaryKey, ", ") + ") over the days selected; count is one per entity and day.",
		}},
	}
}

// lastSuccess is when the newest successful run ended.
const lastSuccess = "MAX(IF(${status} = 'succeeded', ${finished_raw}, NULL))"

// RunsTable is the run ledger BigQuery keeps (steps/loadbigquery's
// LedgerTable): one row per run, partitioned by the day it started. It
// tells analysts how fresh the data is, and its newest successful run
// refreshes the model's caches.
func RunsTable(name string) Table {
	col := func(name string, t schemas.Type, nullable bool, desc string) schemas.Column {
		return schemas.Column{Name: name, Type: t, Nullable: nullable, Description: desc}
	}
	return Table{
		Name:        name,
		Description: "One row per nightshift run: when it ran, what it loaded and how it ended.",
		Columns: []schemas.Column{
			col("id", schemas.Int64, false, "Run number (nightshift.runs.id in the warehouse)."),
			col("env", schemas.Text, false, "Environment the run ran in."),
			col("trigger", schemas.Text, false, "What started it: schedule, manual, backfill, retry or restore."),
			col("entities", schemas.Text, true, "Entities the run covered."),
			col("reason", schemas.Text, true, "Why it was started, for manual runs."),
			// It names the person who started the run, so the PII policy
			// applies to it as to any personal column.
			{Name: "started_by", Type: schemas.Text, PII: schemas.PIIPersonal, Description: "user@host that started it."},
			col("started_at", schemas.Timestamp, false, "When it started (UTC); the table is partitioned by its day."),
			col("finished_at", schemas.Timestamp, true, "When it ended; NULL while running."),
			col("status", schemas.Text, false, "running, succeeded, failed, aborted, abandoned or refused."),
			col("error", schemas.Text, true, "Why it did not succeed."),
			col("source_versions", schemas.JSON, true, "schema_migrations version of each source read."),
			col("results", schemas.JSON, true, "Final status of each entity."),
			col("rows", schemas.Int64, true, "Rows loaded, over all entities."),
		},
		Repeated:   []string{"entities"},
		PrimaryKey: []string{"id"},
		Measures: []Measure{
			{Name: "succeeded_count", Type: "count", Filters: []Filter{{Column: "status", Value: "succeeded"}},
				Description: "Runs that succeeded."},
			{Name: "last_success", Type: "string", SQL: "FORMAT_TIMESTAMP('%Y-%m-%d %H:%M UTC', " + lastSuccess + ")",
				Description: "When the newest successful run among those selected finished (UTC): the data is as fresh as its sources were then."},
			{Name: "hours_since_last_success", Type: "number", SQL: "TIMESTAMP_DIFF(CURRENT_TIMESTAMP(), " + lastSuccess + ", HOUR)",
				Description: "Hours since the newest successful run among those selected finished."},
		},
		Trigger: "SELECT MAX(finished_at) FROM ${TABLE} WHERE status = 'succeeded'",
	}
}

// StatusHistoryTable is BigQuery's copy of reporting.status_history: every
// version of every status, valid_from to valid_to. Its explore answers "as
// of" questions: filter valid_from ≤ T and (valid_to > T or valid_to is
// NULL), or keep is_current for now. BigQuery's statuses_as_of(T) table
// function gives the same rows in SQL.
func StatusHistoryTable(name string) Table {
	col := func(name string, t schemas.Type, nullable bool, desc string) schemas.Column {
		return schemas.Column{Name: name, Type: t, Nullable: nullable, Description: desc}
	}
	return Table{
		Name: name,
		Description: "Every status of every trainee, declaration, teacher induction and training period as observed by nightshift runs: " +
			"one row per version, valid from when a run first saw it until a run saw it change or disappear. " +
			"As of a moment T: valid_from <= T and (valid_to > T or valid_to is NULL); in SQL, statuses_as_of(T).",
		Columns: []schemas.Column{
			col("entity_type", schemas.Text, false, "trainee, declaration_payment, declaration_clawback, teacher_induction or training_period."),
			col("entity_id", schemas.Int64, false, "Id of the entity in its source table."),
			col("status", schemas.Text, true, "The status during this version."),
			col("valid_from", schemas.Timestamp, false, "When this status began: the time the source recorded the change where it did (valid_from_source), otherwise when a run first observed it (its source snapshot, UTC)."),
			col("valid_to", schemas.Timestamp, true, "When a run first observed a different status, or the entity gone; NULL for the current version."),
			col("is_current", schemas.Bool, false, "True for the version in force now."),
			col("origin", schemas.Text, false, "The nightshift entity the status was read from (register_statuses or rect_statuses)."),
			col("run_id", schemas.Int64, false, "The run that opened this version."),
			col("closed_by_run_id", schemas.Int64, true, "The run that closed this version."),
			col("valid_from_source", schemas.Text, false, "Where valid_from comes from: audits, events or training_periods when the source recorded the change; snapshot when it did not."),
		},
		PrimaryKey: []string{"entity_type", "entity_id", "valid_from"},
		Measures: []Measure{{
			Name: "entities_count", Type: "count_distinct", SQL: "CONCAT(${entity_type}, '|', CAST(${entity_id} AS STRING))",
			Description: "Distinct entities among the versions selected.",
		}},
	}
}
