package pgbinary

import (
	"encoding/binary"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

var bigTen = big.NewInt(10)

// AppendNumeric appends the binary COPY form of a decimal with the given
// scale, length word included: base-10000 digits, the fractional part padded
// to whole groups of four, the display scale kept as the column's.
func AppendNumeric(buf []byte, n decimal128.Num, scale int) []byte {
	v := n.BigInt()
	sign := uint16(0x0000)
	if v.Sign() < 0 {
		sign = 0x4000
		v.Neg(v)
	}
	pad := (4 - scale%4) % 4
	v.Mul(v, new(big.Int).Exp(bigTen, big.NewInt(int64(pad)), nil))
	fracGroups := (scale + pad) / 4

	var digits []uint16 // least significant first
	rem := new(big.Int)
	for v.Sign() > 0 {
		v.QuoRem(v, bigTenThousand, rem)
		digits = append(digits, uint16(rem.Int64()))
	}
	weight := len(digits) - 1 - fracGroups
	// Trailing zero groups carry nothing; PostgreSQL leaves them out.
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		weight = 0
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(8+2*len(digits)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(digits)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(scale))
	for i := len(digits) - 1; i >= 0; i-- {
		buf = binary.BigEndian.AppendUint16(buf, digits[i])
	}
	return buf
}
