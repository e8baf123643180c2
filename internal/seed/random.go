package seed

import (
	"math/rand/v2"
	"time"
)

// stream names one independent random sequence. Every table and every
// derived fact has its own, so that changing how one column is drawn does
// not reshuffle the rest of the data.
type stream uint64

const (
	streamProvider stream = iota + 1
	streamSchool
	streamTraineePlan
	streamTraineeIdentity
	streamTraineeDetail
	streamTraineeKind
	streamTraineeProvider
	streamWithdrawal
	streamGias
	streamRectSchool
	streamDeliveryPartner
	streamTeacher
	streamECT
	streamMentor
	streamDeclaration
	streamPartnership
	streamStatement
	streamMilestone
	streamAtSchoolRow
	streamInductionRow
	streamTrainingRow
	streamMentorshipRow
	streamSchoolName
	streamTrainingPartner
	streamAudit
	streamEvent
)

// dice gives every generated row its own random sequence, keyed by the seed,
// the stream and the row's index: any row can be regenerated on its own, in
// any order, so no table has to be held in memory to derive another from it.
type dice struct {
	seed uint64
	pcg  rand.PCG
	*rand.Rand
}

func newDice(seed int64) *dice {
	d := &dice{seed: uint64(seed)}
	d.Rand = rand.New(&d.pcg)
	return d
}

// at rewinds the dice to the start of row i of stream s.
func (d *dice) at(s stream, i int) *dice {
	d.pcg.Seed(mix64(d.seed^mix64(uint64(s))), mix64(uint64(i)^uint64(s)<<48))
	return d
}

// mix64 is the SplitMix64 finaliser: it spreads nearby keys (row 7, row 8)
// over the whole PCG state space, so neighbouring rows are not correlated.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashOf picks one of n values for key (s, i) without touching any dice:
// for facts that several generators must agree on (which lead provider a
// school partners with), computed wherever they are needed.
func hashOf(seed int64, s stream, i, n int) int {
	return int(mix64(uint64(seed)^mix64(uint64(s)<<32^uint64(i))) % uint64(n))
}

func (d *dice) chance(p float64) bool { return d.Float64() < p }

// between returns an int in [lo, hi].
func (d *dice) between(lo, hi int) int { return lo + d.IntN(hi-lo+1) }

func (d *dice) pick(xs []string) string { return xs[d.IntN(len(xs))] }

// weighted returns an index into weights, drawn in proportion to them.
func (d *dice) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := d.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// uuid draws a version 4 UUID.
func (d *dice) uuid() [16]byte {
	var u [16]byte
	a, b := d.Uint64(), d.Uint64()
	for i := range 8 {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// moment returns a time during the working day of day, with microseconds,
// as the application would have stamped it.
func (d *dice) moment(day time.Time) time.Time {
	return day.Add(7*time.Hour + time.Duration(d.Int64N(int64(12*time.Hour/time.Microsecond)))*time.Microsecond)
}

// dayIn returns a day in [from, to]; to before from gives from.
func (d *dice) dayIn(from, to time.Time) time.Time {
	n := daysBetween(from, to)
	if n <= 0 {
		return from
	}
	return from.AddDate(0, 0, d.IntN(n+1))
}

const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58 draws n characters the way Rails' SecureRandom.base58 does.
func (d *dice) base58(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base58[d.IntN(len(base58))]
	}
	return string(b)
}
