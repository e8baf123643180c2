// Package pgbinary is PostgreSQL's binary format for the values the
// contracts carry: the wire format the extract reads is the one the
// warehouse's binary COPY takes, so both sides, and the row digests that
// compare them, share these definitions.
package pgbinary

import (
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// PostgreSQL's binary numeric: ndigits, weight, sign, dscale (int16 each),
// then ndigits base-10000 digits, most significant first; the value is
// sum(digit[i] * 10000^(weight-i)).
const (
	numericPositive = 0x0000
	numericNegative = 0x4000
	numericNaN      = 0xC000
	numericPosInf   = 0xD000
	numericNegInf   = 0xF000
)

var bigTenThousand = big.NewInt(10000)

// PostgreSQL's binary dates and timestamps count from 2000-01-01, Arrow's
// from 1970-01-01: these are the offsets.
const (
	EpochDays   = 10957
	EpochMicros = EpochDays * 86400 * 1_000_000
)

// NumericToDecimal converts a binary numeric to a decimal128 of the given
// precision and scale. reason is set, and the value unusable, when the
// number cannot be held exactly: NaN, an infinity, more decimal places than
// scale or more digits than precision. It never rounds.
func NumericToDecimal(raw []byte, precision, scale int) (n decimal128.Num, reason string, err error) {
	if len(raw) < 8 {
		return n, "", fmt.Errorf("numeric of %d bytes", len(raw))
	}
	ndigits := int(int16(binary.BigEndian.Uint16(raw[0:])))
	weight := int(int16(binary.BigEndian.Uint16(raw[2:])))
	sign := binary.BigEndian.Uint16(raw[4:])
	if len(raw) != 8+2*ndigits {
		return n, "", fmt.Errorf("numeric with %d digits in %d bytes", ndigits, len(raw))
	}
	switch sign {
	case numericNaN:
		return n, "numeric NaN", nil
	case numericPosInf, numericNegInf:
		return n, "numeric infinity", nil
	case numericPositive, numericNegative:
	default:
		return n, "", fmt.Errorf("numeric sign %#x", sign)
	}
	acc := new(big.Int)
	d := new(big.Int)
	for i := 0; i < ndigits; i++ {
		acc.Mul(acc, bigTenThousand)
		acc.Add(acc, d.SetInt64(int64(binary.BigEndian.Uint16(raw[8+2*i:]))))
	}
	// acc counts units of 10000^(weight-ndigits+1); the result counts
	// units of 10^-scale.
	exp := 4*(weight-ndigits+1) + scale
	if exp >= 0 {
		acc.Mul(acc, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
	} else {
		rem := new(big.Int)
		acc.QuoRem(acc, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-exp)), nil), rem)
		if rem.Sign() != 0 {
			return n, fmt.Sprintf("more than %d decimal places", scale), nil
		}
	}
	if acc.Cmp(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil)) >= 0 {
		return n, fmt.Sprintf("more than %d digits", precision), nil
	}
	if sign == numericNegative {
		acc.Neg(acc)
	}
	return decimal128.FromBigInt(acc), "", nil
}

// NumericText renders a binary numeric for the quarantine table.
func NumericText(raw []byte) string {
	if len(raw) < 8 {
		return fmt.Sprintf("%x", raw)
	}
	switch binary.BigEndian.Uint16(raw[4:]) {
	case numericNaN:
		return "NaN"
	case numericPosInf:
		return "Infinity"
	case numericNegInf:
		return "-Infinity"
	}
	ndigits := int(int16(binary.BigEndian.Uint16(raw[0:])))
	weight := int(int16(binary.BigEndian.Uint16(raw[2:])))
	acc := new(big.Int)
	for i := 0; i < ndigits && 8+2*i+2 <= len(raw); i++ {
		acc.Mul(acc, bigTenThousand)
		acc.Add(acc, big.NewInt(int64(binary.BigEndian.Uint16(raw[8+2*i:]))))
	}
	r := new(big.Rat).SetInt(acc)
	shift := new(big.Rat).SetInt(new(big.Int).Exp(bigTenThousand, big.NewInt(int64(abs(weight-ndigits+1))), nil))
	if weight-ndigits+1 >= 0 {
		r.Mul(r, shift)
	} else {
		r.Quo(r, shift)
	}
	if binary.BigEndian.Uint16(raw[4:]) == numericNegative {
		r.Neg(r)
	}
	return r.FloatString(int(int16(binary.BigEndian.Uint16(raw[6:]))))
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
