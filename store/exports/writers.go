package exports

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"
)

// Format is an export's file format.
type Format string

// The formats.
const (
	FormatCSV  Format = "csv"
	FormatXLSX Format = "xlsx"
)

// Valid reports whether f is one of the formats.
func (f Format) Valid() bool { return f == FormatCSV || f == FormatXLSX }

// ContentType is the file's media type.
func (f Format) ContentType() string {
	if f == FormatXLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Cells of a row may be string (neutralised), Number, int, int64, float64, bool, time.Time, *time.Time or
// nil. Times are written in UTC as 2006-01-02T15:04:05Z.

// RowWriter writes a header and rows to a file format. Close finishes the file; nothing is complete
// before it returns.
type RowWriter interface {
	Header(cols []string) error
	Row(cells []any) error
	Close() error
}

// NewRowWriter returns the writer of format f into w.
func NewRowWriter(f Format, w io.Writer) (RowWriter, error) {
	switch f {
	case FormatCSV:
		return newCSVWriter(w), nil
	case FormatXLSX:
		return newXLSXWriter(w, xlsxMaxDataRows)
	}
	return nil, fmt.Errorf("unknown export format %q", f)
}

func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return Neutralise(x)
	case Number:
		return string(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case *time.Time:
		if x == nil {
			return ""
		}
		return x.UTC().Format(time.RFC3339)
	case fmt.Stringer:
		return Neutralise(x.String())
	}
	return Neutralise(fmt.Sprint(v))
}

// csvWriter writes RFC 4180 CSV with a UTF-8 byte order mark, so spreadsheet programs read the accents.
type csvWriter struct {
	buf *bufio.Writer
	w   *csv.Writer
	rec []string
}

func newCSVWriter(w io.Writer) *csvWriter {
	buf := bufio.NewWriterSize(w, 64<<10)
	return &csvWriter{buf: buf, w: csv.NewWriter(buf)}
}

func (c *csvWriter) Header(cols []string) error {
	if _, err := c.buf.WriteString("\ufeff"); err != nil {
		return err
	}
	rec := make([]string, len(cols))
	for i, s := range cols {
		rec[i] = Neutralise(s)
	}
	return c.w.Write(rec)
}

func (c *csvWriter) Row(cells []any) error {
	c.rec = c.rec[:0]
	for _, v := range cells {
		c.rec = append(c.rec, cellText(v))
	}
	return c.w.Write(c.rec)
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}

// xlsxMaxDataRows is how many data rows fit on a sheet under its header: Excel's limit is 1,048,576 rows.
const xlsxMaxDataRows = 1_048_575

// xlsxWriter streams rows through excelize's StreamWriter; past maxRows data rows it continues on a new
// sheet ("Export 2", ...) with the header repeated. excelize keeps at most 16 MB of a sheet in memory and
// the rest in a temporary file it removes on Close; the finished workbook is zipped straight into w.
type xlsxWriter struct {
	out     io.Writer
	f       *excelize.File
	sw      *excelize.StreamWriter
	header  []any
	maxRows int
	sheets  int
	row     int // data rows on the current sheet
	cells   []any
}

func newXLSXWriter(w io.Writer, maxRows int) (*xlsxWriter, error) {
	return &xlsxWriter{out: w, f: excelize.NewFile(), maxRows: maxRows}, nil
}

func (x *xlsxWriter) sheetName() string {
	if x.sheets == 1 {
		return "Export"
	}
	return "Export " + strconv.Itoa(x.sheets)
}

func (x *xlsxWriter) newSheet() error {
	if x.sw != nil {
		if err := x.sw.Flush(); err != nil {
			return fmt.Errorf("error finishing sheet %d: %w", x.sheets, err)
		}
	}
	x.sheets++
	name := x.sheetName()
	if x.sheets == 1 {
		if err := x.f.SetSheetName("Sheet1", name); err != nil {
			return err
		}
	} else if _, err := x.f.NewSheet(name); err != nil {
		return err
	}
	sw, err := x.f.NewStreamWriter(name)
	if err != nil {
		return fmt.Errorf("error starting sheet %s: %w", name, err)
	}
	x.sw, x.row = sw, 0
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return sw.SetRow("A1", x.header)
}

func (x *xlsxWriter) Header(cols []string) error {
	x.header = make([]any, len(cols))
	for i, s := range cols {
		x.header[i] = Neutralise(s)
	}
	return x.newSheet()
}

func (x *xlsxWriter) Row(cells []any) error {
	if x.row == x.maxRows {
		if err := x.newSheet(); err != nil {
			return err
		}
	}
	x.cells = x.cells[:0]
	for _, v := range cells {
		switch n := v.(type) {
		case Number:
			if f, err := strconv.ParseFloat(string(n), 64); err == nil {
				x.cells = append(x.cells, f)
				continue
			}
		case int, int64, float64, bool, nil:
			x.cells = append(x.cells, n)
			continue
		}
		x.cells = append(x.cells, cellText(v))
	}
	x.row++
	cell, err := excelize.CoordinatesToCellName(1, x.row+1)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.cells)
}

func (x *xlsxWriter) Close() error {
	defer x.f.Close()
	if x.sw == nil {
		if err := x.Header(nil); err != nil {
			return err
		}
	}
	if err := x.sw.Flush(); err != nil {
		return fmt.Errorf("error finishing sheet %d: %w", x.sheets, err)
	}
	if err := x.f.Write(x.out); err != nil {
		return fmt.Errorf("error writing workbook: %w", err)
	}
	return nil
}
