package spool

import (
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/s2"
)

// fastSnappy is Parquet's snappy codec at the speed snappy is chosen for.
// Arrow's own encodes with s2.EncodeSnappyBetter, which spent 13 % of the
// Parquet writer's CPU on trainees to make files a few percent smaller;
// s2.EncodeSnappy writes the same standard snappy blocks, faster. Decoding,
// streams and bounds stay Arrow's.
type fastSnappy struct{ compress.Codec }

func (fastSnappy) Encode(dst, src []byte) []byte { return s2.EncodeSnappy(dst, src) }

func (fastSnappy) EncodeLevel(dst, src []byte, _ int) []byte { return s2.EncodeSnappy(dst, src) }

func init() {
	codec, err := compress.GetCodec(compress.Codecs.Snappy)
	if err != nil {
		panic(err) // Arrow registers snappy itself; this cannot fail
	}
	compress.RegisterCodec(compress.Codecs.Snappy, fastSnappy{codec})
}
