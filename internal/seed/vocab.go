package seed

// name is a name as it is written and as it becomes part of an email
// address, which people write in ASCII.
type name struct{ written, ascii string }

// firstNames mixes the common with the accented and the non-Latin, since
// encodings break on exactly those.
var firstNames = []name{
	{"Oliver", "oliver"}, {"Amelia", "amelia"}, {"Olivia", "olivia"}, {"George", "george"},
	{"Isla", "isla"}, {"Harry", "harry"}, {"Ava", "ava"}, {"Noah", "noah"},
	{"Charlotte", "charlotte"}, {"Jack", "jack"}, {"Emily", "emily"}, {"Thomas", "thomas"},
	{"Sophie", "sophie"}, {"Daniel", "daniel"}, {"Hannah", "hannah"}, {"James", "james"},
	{"Grace", "grace"}, {"Lily", "lily"}, {"Freya", "freya"}, {"Oscar", "oscar"},
	{"Ellie", "ellie"}, {"Samuel", "samuel"}, {"Ruby", "ruby"}, {"Joseph", "joseph"},
	{"Zoë", "zoe"}, {"Siobhán", "siobhan"}, {"Łukasz", "lukasz"}, {"Aoife", "aoife"},
	{"Niamh", "niamh"}, {"Seán", "sean"}, {"Ciarán", "ciaran"}, {"Dafydd", "dafydd"},
	{"Rhiannon", "rhiannon"}, {"Eilidh", "eilidh"}, {"Mohammed", "mohammed"}, {"Muhammad", "muhammad"},
	{"Fatima", "fatima"}, {"Aisha", "aisha"}, {"Priya", "priya"}, {"Arjun", "arjun"},
	{"Chidi", "chidi"}, {"Oluwaseun", "oluwaseun"}, {"Kwame", "kwame"}, {"Ngozi", "ngozi"},
	{"Mei", "mei"}, {"Hiroshi", "hiroshi"}, {"José", "jose"}, {"Chloé", "chloe"},
	{"Björn", "bjorn"}, {"Søren", "soren"}, {"Renée", "renee"}, {"François", "francois"},
	{"Małgorzata", "malgorzata"}, {"Zoltán", "zoltan"}, {"Inês", "ines"}, {"Anaïs", "anais"},
	{"Maëlle", "maelle"}, {"Jürgen", "jurgen"}, {"Dóra", "dora"}, {"Tomás", "tomas"},
	{"伟", "wei"}, {"秀英", "xiuying"}, {"Ahmet", "ahmet"}, {"Ayşe", "ayse"},
}

var lastNames = []name{
	{"Smith", "smith"}, {"Jones", "jones"}, {"Williams", "williams"}, {"Taylor", "taylor"},
	{"Brown", "brown"}, {"Davies", "davies"}, {"Evans", "evans"}, {"Wilson", "wilson"},
	{"Thomas", "thomas"}, {"Johnson", "johnson"}, {"Roberts", "roberts"}, {"Robinson", "robinson"},
	{"Thompson", "thompson"}, {"Wright", "wright"}, {"Walker", "walker"}, {"White", "white"},
	{"Edwards", "edwards"}, {"Hughes", "hughes"}, {"Green", "green"}, {"Hall", "hall"},
	{"Lewis", "lewis"}, {"Harris", "harris"}, {"Clarke", "clarke"}, {"Patel", "patel"},
	{"Khan", "khan"}, {"Ahmed", "ahmed"}, {"Ali", "ali"}, {"Begum", "begum"},
	{"Hussain", "hussain"}, {"Singh", "singh"}, {"Kaur", "kaur"}, {"Okafor", "okafor"},
	{"Adeyemi", "adeyemi"}, {"Mensah", "mensah"}, {"O'Brien", "obrien"}, {"O'Connor", "oconnor"},
	{"Ó Súilleabháin", "osuilleabhain"}, {"Nowak", "nowak"}, {"Wiśniewska", "wisniewska"}, {"Müller", "muller"},
	{"García", "garcia"}, {"Nguyễn", "nguyen"}, {"王", "wang"}, {"李", "li"},
	{"陈", "chen"}, {"Kim", "kim"}, {"Papadopoulos", "papadopoulos"}, {"Jørgensen", "jorgensen"},
	{"Ferreira", "ferreira"}, {"Smith-Jones", "smith-jones"}, {"MacDonald", "macdonald"}, {"McCarthy", "mccarthy"},
	{"Ng", "ng"}, {"Yılmaz", "yilmaz"}, {"Dvořák", "dvorak"}, {"Søndergaard", "sondergaard"},
	{"de la Cruz", "delacruz"}, {"van der Berg", "vanderberg"}, {"ap Rhys", "aprhys"}, {"Fitzgerald", "fitzgerald"},
}

var emailDomains = []string{
	"gmail.com", "gmail.com", "gmail.com", "hotmail.co.uk", "hotmail.com", "outlook.com",
	"yahoo.co.uk", "icloud.com", "btinternet.com", "live.co.uk", "googlemail.com", "sky.com",
}

// sharedMailboxes are generic addresses that schools and providers type in
// for several people: the same value lands on many rows.
var sharedMailboxes = [...]string{
	"headteacher@oakfield-primary.sch.uk", "office@oakfield-primary.sch.uk",
	"admin@st-marys-ce.bath.sch.uk", "headteacher@riverside-academy.org.uk",
	"office@moorlands-school.sch.uk", "enquiries@northgate-high.org.uk",
	"info@kingsway-trust.org.uk", "headteacher@hillcrest-infants.sch.uk",
	"school.office@brookfield.sch.uk", "admin@the-meadows.sch.uk",
	"itt@lakeside-scitt.org.uk", "office@holy-trinity.sch.uk",
}

var towns = []string{
	"Bath", "Bristol", "Leeds", "Sheffield", "York", "Durham", "Newcastle", "Sunderland",
	"Manchester", "Salford", "Bolton", "Wigan", "Liverpool", "Chester", "Lancaster", "Preston",
	"Birmingham", "Coventry", "Wolverhampton", "Walsall", "Nottingham", "Derby", "Leicester", "Lincoln",
	"Norwich", "Ipswich", "Cambridge", "Peterborough", "Oxford", "Reading", "Slough", "Swindon",
	"Southampton", "Portsmouth", "Brighton", "Canterbury", "Maidstone", "Exeter", "Plymouth", "Truro",
	"Gloucester", "Cheltenham", "Worcester", "Hereford", "Stoke-on-Trent", "Telford", "Shrewsbury", "Hull",
	"Bradford", "Huddersfield", "Wakefield", "Doncaster", "Barnsley", "Rotherham", "Carlisle", "Kendal",
	"Luton", "Bedford", "Milton Keynes", "Northampton", "Colchester", "Chelmsford", "Southend-on-Sea", "Croydon",
}

// schoolPatterns build school names from a town and a saint or a feature.
var schoolFeatures = []string{
	"Oakfield", "Riverside", "Hillcrest", "Moorlands", "Northgate", "Kingsway", "Brookfield",
	"The Meadows", "Lakeside", "Greenacres", "Westfield", "Highfield", "Springfield", "Ashgrove",
	"Beechwood", "Fairfield", "Parkside", "Woodlands", "Castle", "Abbey",
}

var saints = []string{"St Mary's", "St Peter's", "Holy Trinity", "St John's", "Christ Church", "St Joseph's", "Our Lady's", "St Anne's"}

var schoolKinds = []string{
	"Primary School", "Infant School", "Junior School", "Academy", "High School",
	"Church of England Primary School", "Catholic Primary School", "Community School",
	"Free School", "School and Sixth Form", "Grammar School", "Primary Academy",
}

var postcodeAreas = []string{"BA", "BS", "LS", "S", "YO", "DH", "NE", "SR", "M", "BL", "WN", "L", "CH", "LA", "PR", "B", "CV", "WV", "NG", "DE", "LE", "LN", "NR", "IP", "CB", "PE", "OX", "RG", "SN", "SO", "PO", "BN", "CT", "ME", "EX", "PL", "TR", "GL"}

func (d *dice) postcode() string {
	const letters = "ABDEFGHJLNPQRSTUWXYZ"
	return d.pick(postcodeAreas) + itoa(d.between(1, 29)) + " " + itoa(d.between(1, 9)) +
		string(letters[d.IntN(len(letters))]) + string(letters[d.IntN(len(letters))])
}

func (d *dice) schoolName(town string) string {
	if d.chance(0.3) {
		return d.pick(saints) + " " + d.pick(schoolKinds) + ", " + town
	}
	return d.pick(schoolFeatures) + " " + d.pick(schoolKinds) + ", " + town
}

// itoa formats small non-negative ints without fmt, in the hot loops.
func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// padded formats n with at least width digits.
func padded(n, width int) string {
	s := itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}
