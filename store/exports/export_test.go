package exports

import "io"

// NewXLSXWriterForTest is the XLSX writer with a smaller sheet, so tests can see sheets continue.
func NewXLSXWriterForTest(w io.Writer, maxRows int) RowWriter {
	x, _ := newXLSXWriter(w, maxRows)
	return x
}
