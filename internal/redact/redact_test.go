package redact

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStringMasksEveryFormOfPassword(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"postgres://u:hunter2@host/db":                                  "postgres://u:********@host/db",
		" postgres://u:hunter2@host/db":                                 " postgres://u:********@host/db",
		"Postgres://u:hunter2@host/db":                                  "Postgres://u:********@host/db",
		"postgres:/u:hunter2@host/db":                                   "postgres:/u:********@host/db",
		"postgresql://u:hunter2@host/db?sslmode=require":                "postgresql://u:********@host/db?sslmode=require",
		"postgres://u@host/db?password=hunter2&sslmode=x":               "postgres://u@host/db?password=********&sslmode=x",
		"host=h password=hunter2 dbname=d":                              "host=h password=******** dbname=d",
		"host=h password = hunter2 dbname=d":                            "host=h password = ******** dbname=d",
		"host=h PASSWORD='hunter 2' dbname=d":                           "host=h PASSWORD=******** dbname=d",
		`invalid configuration parameter name "postgres://u:hunter2@h"`: `invalid configuration parameter name "postgres://u:********@h"`,
		"https://hooks.slack.com/services/T/B/x":                        "https://hooks.slack.com/services/T/B/x",
		"postgres://u:p@ssw0rd@host/db":                                 "postgres://u:********@host/db",
		`got "postgres://u:p@ss@host/db" here`:                          `got "postgres://u:********@host/db" here`,
		`password="hunter 2" x`:                                         "password=******** x",
		`host=h password = "hunter2"`:                                   "host=h password = ********",
		"nothing secret here":                                           "nothing secret here",
	}
	for in, want := range cases {
		require.Equal(t, want, String(in), in)
	}
	require.Equal(t, "key "+Mask+" used", String("key k3y-s3cret used", "k3y-s3cret"))
}

func TestErrorKeepsTheChain(t *testing.T) {
	t.Parallel()
	base := errors.New("connect postgres://u:hunter2@h failed")
	err := Error(base)
	require.NotContains(t, err.Error(), "hunter2")
	require.ErrorIs(t, err, base)
	require.Nil(t, Error(nil))
}
