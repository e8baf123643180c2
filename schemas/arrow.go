package schemas

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// ArrowType is the Arrow type a column travels as. Timestamps carry the
// UTC zone so that Parquet marks them isAdjustedToUTC and BigQuery reads
// TIMESTAMP, not DATETIME.
func (c Column) ArrowType() arrow.DataType {
	switch c.Type {
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case Int16:
		return arrow.PrimitiveTypes.Int16
	case Int32:
		return arrow.PrimitiveTypes.Int32
	case Int64:
		return arrow.PrimitiveTypes.Int64
	case Float64:
		return arrow.PrimitiveTypes.Float64
	case Text, UUID, JSON:
		return arrow.BinaryTypes.String
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case Numeric:
		return &arrow.Decimal128Type{Precision: int32(c.Precision), Scale: int32(c.Scale)} //nolint:gosec // Validate bounds them to 38
	}
	panic(fmt.Sprintf("schemas: no Arrow type for %v", c.Type))
}

// ArrowSchema is the schema of the record batches and the spool file.
func (c *Contract) ArrowSchema() *arrow.Schema {
	cols := c.Fields()
	fields := make([]arrow.Field, len(cols))
	for i, col := range cols {
		fields[i] = arrow.Field{
			Name:     col.Name,
			Type:     col.ArrowType(),
			Nullable: col.Nullable,
			Metadata: arrow.NewMetadata([]string{"description", "pii"}, []string{col.Description, col.PII.String()}),
		}
	}
	md := arrow.NewMetadata([]string{"entity", "description"}, []string{c.Entity, c.Description})
	return arrow.NewSchema(fields, &md)
}
