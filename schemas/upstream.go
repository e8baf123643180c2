package schemas

// Upstream is the version of a source service's db/schema.rb that its
// contracts were last checked against, column by column. A source whose
// schema_migrations has moved past it has migrations nobody has read yet:
// they may add what analysts want, or change what a contract reads in a way
// the preflight's type checks cannot see (a column's meaning). The run does
// not stop for it, but says so, so that someone re-checks the contracts.
type Upstream struct {
	// Source is the source's name in the configuration (register, rect).
	Source string
	// Repository and Commit say where the schema.rb that was read lives.
	Repository string
	Commit     string
	// Version is that schema.rb's version: the 14-digit Rails migration
	// version, as schema_migrations stores it.
	Version string
}

// upstreams are the schema.rb versions the contracts were checked against.
// Moving one on means reading the new schema.rb against every contract of
// the source (and sql/source/<source>/schema.sql, which copies it).
var upstreams = []Upstream{
	{Source: "register", Repository: "DFE-Digital/register-trainee-teachers",
		Commit: "ce1126541c2107c9fbfce47b18c794b0973aaac1", Version: "20260609164710"},
	{Source: "rect", Repository: "DFE-Digital/register-early-career-teachers-public",
		Commit: "0fe31d1aa91b56da779eaf576228149b793a5926", Version: "20260813112837"},
}

// UpstreamOf returns the upstream schema the source's contracts were
// checked against; false for a source nobody checked (a test's).
func UpstreamOf(source string) (Upstream, bool) {
	for _, u := range upstreams {
		if u.Source == source {
			return u, true
		}
	}
	return Upstream{}, false
}

// Newer says whether a source at version has migrations past the ones its
// contracts were checked against. Versions are digits, so the longer is
// the larger and those of one length compare as strings; an empty version
// (no migrations at all) is never newer.
func (u Upstream) Newer(version string) bool { return VersionBefore(u.Version, version) }

// VersionBefore says whether Rails schema version a is older than b. Rails
// versions are UTC timestamps of one length, so they compare as numbers;
// a shorter one (none at all: "") is older.
func VersionBefore(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
