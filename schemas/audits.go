package schemas

// Audits is Register's change log: one row per create, update or destroy of
// an audited record (the audited gem), with what changed. It is how a
// trainee's timeline knows when a status really changed, and who by kind
// of author; Register keeps it out of its own analytics stream.
var Audits = Contract{
	Entity: "audits",
	Description: "Changes to Register's records (the audited gem): one row per create, update or destroy of a trainee and " +
		"the other audited records, with the columns that changed (audited_changes, with enums as their integer codes: " +
		"\"state\": [2, 4] is trn_received to withdrawn) and when. Rows are never updated; a record's audits are numbered " +
		"by version. Who made a change is said by kind (user_type); the person's name or email (username) is personal.",
	Source:     "register",
	Table:      "audits",
	PrimaryKey: []string{"id"},
	// 20210108163200 (install_audited) created the table with every column
	// read; the schema file carries only the newest twenty migrations, of
	// which this is the oldest.
	MinSchemaVersion: "20250721121140",
	Mode:             Full,
	Ignored: map[string]string{
		"user_id": "the id of the Register user account that made the change, a key into users, which nightshift does not copy " +
			"(staff names and emails); user_type says what kind of author it was, and timelines say no more",
	},
	Columns: []Column{
		{Name: "id", SourceType: "int8", Type: Int64, Description: "Identifier of the audit row."},
		{Name: "auditable_type", SourceType: "varchar", Type: Text, Nullable: true, LowCardinality: true,
			Description: "Model of the record that changed: Trainee, TraineeWithdrawal, Provider, Degree, Placement and others."},
		{Name: "auditable_id", SourceType: "int4", Type: Int64, Nullable: true,
			Description: "Id of the record that changed, in the table of auditable_type: trainees.id for a Trainee."},
		{Name: "associated_type", SourceType: "varchar", Type: Text, Nullable: true, LowCardinality: true,
			Description: "Model of the record the change is filed under: Provider for a trainee's changes, Trainee for its degrees' and placements'."},
		{Name: "associated_id", SourceType: "int4", Type: Int64, Nullable: true,
			Description: "Id of the record the change is filed under, in the table of associated_type."},
		{Name: "action", SourceType: "varchar", Type: Text, Nullable: true, LowCardinality: true,
			Description: "create, update or destroy."},
		{Name: "audited_changes", SourceType: "jsonb", Type: JSON, Nullable: true,
			Description: "What changed, by column of the audited record: for a create or destroy each column's value, for an update " +
				"an [old, new] pair per changed column. Enums are integer codes, dates and times ISO 8601 text.",
			Keys: &Keys{By: "auditable_type", Of: auditedEntities, Changes: true}},
		{Name: "version", SourceType: "int4", Type: Int32, Nullable: true,
			Description: "Number of the change among the record's changes, from 1 (its create)."},
		{Name: "user_type", SourceType: "varchar", Type: Text, Nullable: true, LowCardinality: true,
			Description: "Kind of author: User for a person signed in to Register; NULL for imports, the API and jobs, which name themselves in username."},
		{Name: "username", SourceType: "varchar", Type: Text, Nullable: true, PII: PIIPersonal,
			Description: "Name of the author when not a signed-in user: a person's name or email, or a process (HESA, DTTP import)."},
		{Name: "comment", SourceType: "varchar", Type: Text, Nullable: true, PII: PIIPersonal,
			Description: "Free text the change was saved with, when any: can name people."},
		{Name: "remote_address", SourceType: "varchar", Type: Text, Nullable: true, PII: PIIPersonal,
			Description: "IP address the change came from."},
		{Name: "request_uuid", SourceType: "varchar", Type: Text, Nullable: true,
			Description: "Id of the web request or job that made the change: the audits of one save share it."},
		{Name: "created_at", SourceType: "timestamp", Type: Timestamp, Nullable: true,
			Description: "When the change was made (UTC, to the microsecond): when it really happened, not when a run saw it."},
	},
}

// auditedEntities are the audited models of Register whose table is under
// contract: their audited_changes keys are classified by that contract.
var auditedEntities = map[string]string{
	"Trainee":                 "trainees",
	"TraineeWithdrawal":       "trainee_withdrawals",
	"TraineeWithdrawalReason": "trainee_withdrawal_reasons",
	"Provider":                "providers",
	"TrainingPartner":         "training_partners",
	"AcademicCycle":           "academic_cycles",
	"WithdrawalReason":        "withdrawal_reasons",
}
