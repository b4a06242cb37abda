package domain

import (
	"log/slog"

	"github.com/jackc/pgx/v5/pgtype"
)

// Sensitive holds personal data that must never leave this organisation (a home address, a National
// Insurance number, a line manager). It prints, logs and marshals as "[redacted]"; only an explicit Reveal,
// in code that has decided the reader may see it, gives the value.
type Sensitive struct{ v string }

const redacted = "[redacted]"

func NewSensitive(s string) Sensitive { return Sensitive{s} }

// Reveal returns the value. Call it only where the reader is entitled to it.
func (s Sensitive) Reveal() string { return s.v }

func (s Sensitive) IsZero() bool                 { return s.v == "" }
func (s Sensitive) String() string               { return redacted }
func (s Sensitive) GoString() string             { return redacted }
func (s Sensitive) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Sensitive) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// ScanText and TextValue let pgx read and write the value.
func (s *Sensitive) ScanText(v pgtype.Text) error { s.v = v.String; return nil }
func (s Sensitive) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: s.v, Valid: true}, nil
}
