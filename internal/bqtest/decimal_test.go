package bqtest_test

import (
	"bytes"
	"context"
	"math/big"
	"net/http"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
)

// decimals writes a Parquet file of one DECIMAL(precision, scale) column,
// amount, holding values (decimal strings at that scale).
func decimals(t *testing.T, precision, scale int32, values ...string) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "amount", Type: &arrow.Decimal128Type{Precision: precision, Scale: scale}}}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	for _, v := range values {
		n, err := decimal128.FromString(v, precision, scale)
		require.NoError(t, err, v)
		rb.Field(0).(*array.Decimal128Builder).Append(n)
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// loadDecimals loads data into table under field, with the load's decimal
// target types, and returns the job's status.
func loadDecimals(t *testing.T, table *bigquery.Table, data []byte, field *bigquery.FieldSchema, targets ...bigquery.DecimalTargetType) *bigquery.JobStatus {
	t.Helper()
	ctx := context.Background()
	src := bigquery.NewReaderSource(bytes.NewReader(data))
	src.SourceFormat = bigquery.Parquet
	src.Schema = bigquery.Schema{field}
	l := table.LoaderFrom(src)
	l.WriteDisposition = bigquery.WriteTruncate
	l.DecimalTargetTypes = targets
	job, err := l.Run(ctx)
	require.NoError(t, err)
	status, err := job.Wait(ctx)
	require.NoError(t, err)
	return status
}

// amounts are the values of the table's amount column, as exact decimals
// at scale places.
func amounts(t *testing.T, fake *bqtest.Server, table string, places int) []string {
	t.Helper()
	got, ok := fake.Table("p", "d", table)
	require.True(t, ok, table)
	out := make([]string, len(got.Rows))
	for i, row := range got.Rows {
		out[i] = row["amount"].(*big.Rat).FloatString(places)
	}
	return out
}

func TestDecimalsLoadExactlyWhenTheFieldHoldsThem(t *testing.T) {
	t.Parallel()
	fake, _, ds := setup(t)
	both := []bigquery.DecimalTargetType{bigquery.NumericTargetType, bigquery.BigNumericTargetType}

	money := decimals(t, 12, 2, "-9999999999.99", "0.01", "1041.67", "0.00")
	status := loadDecimals(t, ds.Table("money"), money, &bigquery.FieldSchema{Name: "amount", Type: bigquery.NumericFieldType, Precision: 12, Scale: 2}, both...)
	require.NoError(t, status.Err())
	require.Equal(t, []string{"-9999999999.99", "0.01", "1041.67", "0.00"}, amounts(t, fake, "money", 2))

	// Ten decimal places need BIGNUMERIC: NUMERIC keeps nine.
	fine := decimals(t, 38, 10, "0.0000000001", "-1234567890123456789012345678.0000000001")
	status = loadDecimals(t, ds.Table("fine"), fine, &bigquery.FieldSchema{Name: "amount", Type: bigquery.BigNumericFieldType, Precision: 38, Scale: 10}, both...)
	require.NoError(t, status.Err())
	require.Equal(t, []string{"0.0000000001", "-1234567890123456789012345678.0000000001"}, amounts(t, fake, "fine", 10))
	status = loadDecimals(t, ds.Table("fine_numeric"), fine, &bigquery.FieldSchema{Name: "amount", Type: bigquery.NumericFieldType}, both...)
	require.ErrorContains(t, status.Err(), "not compatible", "DECIMAL(38,10) converts to BIGNUMERIC, which a NUMERIC field cannot take")

	// A NUMERIC column widens into a BIGNUMERIC field.
	status = loadDecimals(t, ds.Table("money_big"), money, &bigquery.FieldSchema{Name: "amount", Type: bigquery.BigNumericFieldType}, both...)
	require.NoError(t, status.Err())
	require.Equal(t, []string{"-9999999999.99", "0.01", "1041.67", "0.00"}, amounts(t, fake, "money_big", 2))
}

// A field narrower than the data rounds, as BigQuery does: the reason a
// test of exact values against this fake means something.
func TestDecimalsAreRoundedToTheFieldsScaleAndRefusedBeyondItsPrecision(t *testing.T) {
	t.Parallel()
	fake, _, ds := setup(t)
	data := decimals(t, 12, 2, "0.05", "-0.05", "2.25", "2.35", "-2.25")
	status := loadDecimals(t, ds.Table("away"), data, &bigquery.FieldSchema{Name: "amount", Type: bigquery.NumericFieldType, Precision: 12, Scale: 1})
	require.NoError(t, status.Err())
	require.Equal(t, []string{"0.1", "-0.1", "2.3", "2.4", "-2.3"}, amounts(t, fake, "away", 1), "half away from zero, BigQuery's default")
	status = loadDecimals(t, ds.Table("even"), data, &bigquery.FieldSchema{Name: "amount", Type: bigquery.NumericFieldType, Precision: 12, Scale: 1, RoundingMode: bigquery.RoundHalfEven})
	require.NoError(t, status.Err())
	require.Equal(t, []string{"0.0", "0.0", "2.2", "2.4", "-2.2"}, amounts(t, fake, "even", 1))

	status = loadDecimals(t, ds.Table("small"), decimals(t, 12, 2, "999.99", "1000.00"), &bigquery.FieldSchema{Name: "amount", Type: bigquery.NumericFieldType, Precision: 5, Scale: 2})
	require.ErrorContains(t, status.Err(), "Invalid NUMERIC value: 1000.00 for field amount: out of range for NUMERIC(5, 2)")
	_, ok := fake.Table("p", "d", "small")
	require.False(t, ok, "a failed load creates nothing")
}

func TestDecimalParametersBigQueryRefusesAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, _, ds := setup(t)
	for name, f := range map[string]*bigquery.FieldSchema{
		"numeric_all_fraction": {Name: "ratio", Type: bigquery.NumericFieldType, Precision: 4, Scale: 4},
		"numeric_scale_10":     {Name: "ratio", Type: bigquery.NumericFieldType, Precision: 38, Scale: 10},
		"numeric_30_digits":    {Name: "ratio", Type: bigquery.NumericFieldType, Precision: 30},
		"bignumeric_39_digits": {Name: "ratio", Type: bigquery.BigNumericFieldType, Precision: 39},
		"string_precision":     {Name: "ratio", Type: bigquery.StringFieldType, Precision: 4},
	} {
		err := ds.Table(name).Create(ctx, &bigquery.TableMetadata{Schema: bigquery.Schema{f}})
		requireAPIError(t, err, http.StatusBadRequest, "invalid")
	}
	for name, f := range map[string]*bigquery.FieldSchema{
		"numeric_ratio":     {Name: "ratio", Type: bigquery.NumericFieldType, Precision: 5, Scale: 4},
		"numeric_money":     {Name: "ratio", Type: bigquery.NumericFieldType, Precision: 38, Scale: 9},
		"bignumeric_fine":   {Name: "ratio", Type: bigquery.BigNumericFieldType, Precision: 38, Scale: 10},
		"numeric_unbounded": {Name: "ratio", Type: bigquery.NumericFieldType},
	} {
		require.NoError(t, ds.Table(name).Create(ctx, &bigquery.TableMetadata{Schema: bigquery.Schema{f}}), name)
	}
}
