package store

import (
	"github.com/google/uuid"
)

// ID is the identifier type of every row: a UUIDv7 made in Go, so keys sort by creation time.
type ID = uuid.UUID

// NewID returns a new UUIDv7.
func NewID() ID {
	return uuid.Must(uuid.NewV7())
}

// ParseID parses s as an ID; a malformed value is a NotFound error because it can name no row.
func ParseID(s string) (ID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, Errorf(NotFound, "No such record.")
	}
	return id, nil
}
