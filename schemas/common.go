package schemas

// Columns most tables share, described once.

func idColumn(what string) Column {
	return Column{Name: "id", SourceType: "int8", Type: Int64, Description: "Identifier of the " + what + "."}
}

func timestampColumns(what string) []Column {
	return []Column{
		{Name: "created_at", SourceType: "timestamp", Type: Timestamp, Description: "When the " + what + " was created (UTC)."},
		{Name: "updated_at", SourceType: "timestamp", Type: Timestamp, Description: "When the " + what + " was last changed through the service (UTC); some writes bypass it."},
	}
}

func columns(groups ...[]Column) []Column {
	var out []Column
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// periodColumns are the dates every *_periods table of RECT has; their
// generated daterange column is not read (it is derived from these two).
func periodColumns(what string) []Column {
	return []Column{
		{Name: "started_on", SourceType: "date", Type: Date, Description: "First day of the " + what + "."},
		{Name: "finished_on", SourceType: "date", Type: Date, Nullable: true,
			Description: "Last day of the " + what + ", inclusive; NULL while it is ongoing."},
	}
}

func provenanceColumns() []Column {
	return []Column{
		{Name: "ecf_start_induction_record_id", SourceType: "uuid", Type: UUID, Nullable: true,
			Description: "Induction record of the previous service (ECF1) this period was migrated from, at its start."},
		{Name: "ecf_end_induction_record_id", SourceType: "uuid", Type: UUID, Nullable: true,
			Description: "Induction record of the previous service (ECF1) this period was migrated from, at its end."},
	}
}
