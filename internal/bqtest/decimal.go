package bqtest

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	bq "google.golang.org/api/bigquery/v2"
)

// BigQuery's decimals as a load job stores them, after the API reference
// (google.golang.org/api/bigquery/v2: JobConfigurationLoad.DecimalTargetTypes,
// TableFieldSchema.Precision and RoundingMode):
//
//   - a Parquet DECIMAL(p,s) converts to the first of NUMERIC, BIGNUMERIC
//     and STRING that the load lists and that holds (p,s) — NUMERIC holds
//     p-s <= 29 and s <= 9, BIGNUMERIC p-s <= 38 and s <= 38 — or, if none
//     does, to the widest one listed, whose range each value is then held
//     to; a load that lists none means NUMERIC alone, for Parquet;
//   - a field NUMERIC(P,S) or BIGNUMERIC(P,S) rounds every value it is given
//     to S decimal places (half away from zero unless its roundingMode says
//     ROUND_HALF_EVEN) and refuses one that still has more than P-S digits
//     before the point; without P and S only the type's own range applies
//     (NUMERIC: 9 decimal places, under 10^29 in magnitude; BIGNUMERIC: 38
//     places, from -2^255 to 2^255-1 units of 10^-38);
//   - P and S are allowed only on NUMERIC (1 <= P-S <= 29, 0 <= S <= 9) and
//     BIGNUMERIC (1 <= P-S <= 38, 0 <= S <= 38), and S only with P.
//
// The rounding is what makes the fake worth testing against: a pipeline
// that declared a narrower scale than its data would lose digits silently in
// BigQuery, and here too.

// decimalTarget is the type a DECIMAL(p,s) column converts to.
func decimalTarget(p, s int, targets []string) string {
	if len(targets) == 0 {
		targets = []string{"NUMERIC"}
	}
	for _, t := range []string{"NUMERIC", "BIGNUMERIC", "STRING"} {
		if slices.Contains(targets, t) && decimalHolds(t, p, s) {
			return t
		}
	}
	for _, t := range []string{"STRING", "BIGNUMERIC", "NUMERIC"} {
		if slices.Contains(targets, t) {
			return t
		}
	}
	return "NUMERIC"
}

// decimalHolds says whether type t holds every DECIMAL(p,s).
func decimalHolds(t string, p, s int) bool {
	switch t {
	case "NUMERIC":
		return p-s <= 29 && s <= 9
	case "BIGNUMERIC":
		return p-s <= 38 && s <= 38
	}
	return true
}

// decimalFits says whether decimals converted to target load into a field
// of type field: the same type, or NUMERIC into the wider BIGNUMERIC.
func decimalFits(target, field string) bool {
	return target == field || target == "NUMERIC" && field == "BIGNUMERIC"
}

// decimalValue is a decimal array's value, exactly.
func decimalValue(col arrow.Array, i int) *big.Rat {
	var unscaled *big.Int
	switch a := col.(type) {
	case *array.Decimal32:
		unscaled = big.NewInt(int64(a.Value(i)))
	case *array.Decimal64:
		unscaled = big.NewInt(int64(a.Value(i)))
	case *array.Decimal128:
		unscaled = a.Value(i).BigInt()
	case *array.Decimal256:
		unscaled = a.Value(i).BigInt()
	default:
		panic(fmt.Sprintf("bqtest: %T is not a decimal array", col))
	}
	r := new(big.Rat).SetInt(unscaled)
	return r.Mul(r, pow10(-int(col.DataType().(arrow.DecimalType).GetScale())))
}

// storeDecimal is the value field f holds once given v, read from a
// column of type dt: v itself, rounded, or an error that fails the load.
func storeDecimal(v *big.Rat, dt arrow.DataType, f *bq.TableFieldSchema, targets []string) (any, error) {
	d := dt.(arrow.DecimalType)
	p, s := int(d.GetPrecision()), int(d.GetScale())
	target := decimalTarget(p, s, targets)
	if target == "STRING" {
		return v.FloatString(max(s, 0)), nil
	}
	// The type the column converted to holds the value first, then the
	// field (a NUMERIC column may fill a BIGNUMERIC field).
	for _, step := range []struct {
		typ       string
		precision int64
		scale     int64
		mode      string
	}{{typ: target}, {f.Type, f.Precision, f.Scale, f.RoundingMode}} {
		scale, limit := decimalRange(step.typ, step.precision, step.scale)
		rounded := roundRat(v, scale, step.mode)
		if new(big.Rat).Abs(rounded).Cmp(limit) >= 0 {
			return nil, invalid("Invalid %s value: %s for field %s: out of range for %s",
				step.typ, v.FloatString(max(s, 0)), f.Name, decimalTypeName(step.typ, step.precision, step.scale))
		}
		v = rounded
	}
	return v, nil
}

// decimalRange is the decimal places a type (or a field with P and S) keeps
// and the magnitude its values stay under.
func decimalRange(typ string, precision, scale int64) (places int, limit *big.Rat) {
	switch {
	case precision > 0:
		return int(scale), pow10(int(precision - scale))
	case typ == "BIGNUMERIC":
		// 2^255 units of 10^-38: the most negative value is -2^255e-38,
		// the most positive one unit less, close enough for a fake.
		limit = new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), 255))
		return 38, limit.Mul(limit, pow10(-38))
	}
	return 9, pow10(29)
}

func decimalTypeName(typ string, precision, scale int64) string {
	if precision == 0 {
		return typ
	}
	return fmt.Sprintf("%s(%d, %d)", typ, precision, scale)
}

// roundRat rounds v to places decimal places, half away from zero or, with
// ROUND_HALF_EVEN, half to even.
func roundRat(v *big.Rat, places int, mode string) *big.Rat {
	shifted := new(big.Rat).Mul(v, pow10(places))
	if shifted.IsInt() {
		return v
	}
	num, den := shifted.Num(), shifted.Denom()
	q, r := new(big.Int).QuoRem(num, den, new(big.Int)) // truncated towards zero
	twice := new(big.Int).Abs(new(big.Int).Lsh(r, 1))
	switch c := twice.Cmp(den); {
	case c > 0, c == 0 && (mode != "ROUND_HALF_EVEN" || q.Bit(0) == 1):
		q.Add(q, big.NewInt(int64(num.Sign())))
	}
	out := new(big.Rat).SetInt(q)
	return out.Mul(out, pow10(-places))
}

// pow10 is 10^n as a rational, for any integer n.
func pow10(n int) *big.Rat {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(n))), nil)
	if n < 0 {
		return new(big.Rat).SetFrac(big.NewInt(1), p)
	}
	return new(big.Rat).SetInt(p)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// validSchema refuses what BigQuery refuses in a schema's decimal
// parameters, naming the field.
func validSchema(schema *bq.TableSchema) *jobError {
	if schema == nil {
		return nil
	}
	return validFields(schema.Fields)
}

func validFields(fields []*bq.TableFieldSchema) *jobError {
	invalid := func(format string, args ...any) *jobError {
		return &jobError{reason: "invalid", msg: fmt.Sprintf(format, args...)}
	}
	for _, f := range fields {
		if err := validFields(f.Fields); err != nil {
			return err
		}
		decimal := f.Type == "NUMERIC" || f.Type == "BIGNUMERIC"
		p, s := f.Precision, f.Scale
		switch {
		case !decimal && (p != 0 || s != 0 || f.RoundingMode != ""):
			return invalid("Field %s: precision, scale and rounding mode apply to NUMERIC and BIGNUMERIC only, not %s", f.Name, f.Type)
		case !decimal:
		case s != 0 && p == 0:
			return invalid("Field %s: a scale needs a precision", f.Name)
		case p < 0 || s < 0:
			return invalid("Field %s: precision and scale cannot be negative", f.Name)
		case f.Type == "NUMERIC" && p != 0 && (p-s < 1 || p-s > 29 || s > 9):
			return invalid("Invalid NUMERIC(%d, %d) for field %s: precision - scale must be from 1 to 29, and scale at most 9", p, s, f.Name)
		case f.Type == "BIGNUMERIC" && p != 0 && (p-s < 1 || p-s > 38 || s > 38):
			return invalid("Invalid BIGNUMERIC(%d, %d) for field %s: precision - scale must be from 1 to 38, and scale at most 38", p, s, f.Name)
		}
		switch f.RoundingMode {
		case "", "ROUNDING_MODE_UNSPECIFIED", "ROUND_HALF_AWAY_FROM_ZERO", "ROUND_HALF_EVEN":
		default:
			return invalid("Field %s: unknown rounding mode %q", f.Name, f.RoundingMode)
		}
	}
	return nil
}
