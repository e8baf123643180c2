package seed

// planter chooses which edge case, if any, a unit (a trainee, a teacher)
// carries: kind k in 1..len(probs) with probability probs[k-1], 0 for none.
// So that even a tiny seed has every kind, each kind is also forced onto one
// unit, the kinds spread evenly over the table.
type planter struct {
	n     int
	probs []float64
}

// forced returns the unit kind k is forced onto.
func (p planter) forced(k int) int {
	return (2*(k-1) + 1) * p.n / (2 * len(p.probs))
}

// kindAt returns unit i's kind; u is a uniform draw in [0, 1) for the unit.
func (p planter) kindAt(i int, u float64) int {
	for k := 1; k <= len(p.probs); k++ {
		if p.forced(k) == i {
			return k
		}
	}
	for k, prob := range p.probs {
		if u < prob {
			return k + 1
		}
		u -= prob
	}
	return 0
}
