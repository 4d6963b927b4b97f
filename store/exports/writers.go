package exports

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
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

// xlsxWriter writes the workbook itself, streaming: each sheet's XML goes row by row through a deflating
// zip entry straight into w, so nothing of the file is held in memory or written to local disk (a spreadsheet
// library's stream writer keeps a sheet past 16 MB in a temporary file). Past maxRows data rows it continues
// on a new sheet ("Export 2", ...) with the header repeated; the workbook's parts that name the sheets are
// written last, when their number is known (zip entries may come in any order). Strings are inline, so no
// shared-string table grows with the file; the header row stays frozen on every sheet.
type xlsxWriter struct {
	buf     *bufio.Writer
	zw      *zip.Writer
	sheet   io.Writer // the current sheet's entry
	header  []string
	cols    []string // column letters, A, B, ...
	maxRows int
	sheets  int
	row     int // rows written on the current sheet, header included
	line    []byte
	esc     bytes.Buffer
}

func newXLSXWriter(w io.Writer, maxRows int) (*xlsxWriter, error) {
	buf := bufio.NewWriterSize(w, 64<<10)
	return &xlsxWriter{buf: buf, zw: zip.NewWriter(buf), maxRows: maxRows}, nil
}

func xlsxSheetName(n int) string {
	if n == 1 {
		return "Export"
	}
	return "Export " + strconv.Itoa(n)
}

// xlsxColumn is the letters of column i (0-based): A … Z, AA …
func xlsxColumn(i int) string {
	name := ""
	for i++; i > 0; i = (i - 1) / 26 {
		name = string(rune('A'+(i-1)%26)) + name
	}
	return name
}

const xlsxSheetStart = xml.Header + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
	`<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>` +
	`</sheetView></sheetViews><sheetData>`

const xlsxSheetEnd = `</sheetData></worksheet>`

func (x *xlsxWriter) newSheet() error {
	if x.sheet != nil {
		if _, err := io.WriteString(x.sheet, xlsxSheetEnd); err != nil {
			return err
		}
	}
	x.sheets++
	sheet, err := x.zw.Create("xl/worksheets/sheet" + strconv.Itoa(x.sheets) + ".xml")
	if err != nil {
		return fmt.Errorf("error starting sheet %d: %w", x.sheets, err)
	}
	x.sheet, x.row = sheet, 0
	if _, err := io.WriteString(sheet, xlsxSheetStart); err != nil {
		return err
	}
	cells := make([]any, len(x.header))
	for i, h := range x.header {
		cells[i] = h
	}
	return x.writeRow(cells)
}

func (x *xlsxWriter) Header(cols []string) error {
	x.header = make([]string, len(cols))
	for i, s := range cols {
		x.header[i] = Neutralise(s)
	}
	return x.newSheet()
}

func (x *xlsxWriter) Row(cells []any) error {
	if x.row == x.maxRows+1 {
		if err := x.newSheet(); err != nil {
			return err
		}
	}
	return x.writeRow(cells)
}

// writeRow writes one row of cells: numbers as numbers, booleans as booleans, nil as no cell, everything
// else as inline text (neutralised against formulas, XML-escaped, characters XML cannot hold replaced).
func (x *xlsxWriter) writeRow(cells []any) error {
	for len(x.cols) < len(cells) {
		x.cols = append(x.cols, xlsxColumn(len(x.cols)))
	}
	x.row++
	r := strconv.Itoa(x.row)
	b := append(x.line[:0], `<row r="`...)
	b = append(b, r...)
	b = append(b, `">`...)
	for i, v := range cells {
		var num, text string
		isBool := false
		switch n := v.(type) {
		case nil:
			continue
		case Number:
			if _, err := strconv.ParseFloat(string(n), 64); err == nil {
				num = string(n)
			} else {
				text = cellText(v)
			}
		case int:
			num = strconv.Itoa(n)
		case int64:
			num = strconv.FormatInt(n, 10)
		case float64:
			num = strconv.FormatFloat(n, 'g', -1, 64)
		case bool:
			isBool, num = true, "0"
			if n {
				num = "1"
			}
		default:
			text = cellText(v)
		}
		b = append(b, `<c r="`...)
		b = append(b, x.cols[i]...)
		b = append(b, r...)
		switch {
		case isBool:
			b = append(b, `" t="b"><v>`...)
			b = append(b, num...)
			b = append(b, `</v></c>`...)
		case num != "":
			b = append(b, `"><v>`...)
			b = append(b, num...)
			b = append(b, `</v></c>`...)
		default:
			b = append(b, `" t="inlineStr"><is><t xml:space="preserve">`...)
			x.esc.Reset()
			if err := xml.EscapeText(&x.esc, []byte(text)); err != nil {
				return err
			}
			b = append(b, x.esc.Bytes()...)
			b = append(b, `</t></is></c>`...)
		}
	}
	b = append(b, `</row>`...)
	x.line = b
	_, err := x.sheet.Write(b)
	return err
}

func (x *xlsxWriter) Close() error {
	if x.sheet == nil {
		if err := x.Header(nil); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(x.sheet, xlsxSheetEnd); err != nil {
		return err
	}
	var types, sheets, rels strings.Builder
	for i := 1; i <= x.sheets; i++ {
		n := strconv.Itoa(i)
		fmt.Fprintf(&types, `<Override PartName="/xl/worksheets/sheet%s.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`, n)
		fmt.Fprintf(&sheets, `<sheet name="%s" sheetId="%s" r:id="rId%s"/>`, xlsxSheetName(i), n, n)
		fmt.Fprintf(&rels, `<Relationship Id="rId%s" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet%s.xml"/>`, n, n)
	}
	styles := strconv.Itoa(x.sheets + 1)
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
			types.String() + `</Types>`},
		{"_rels/.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
			`</Relationships>`},
		{"xl/workbook.xml", `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
			`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>` + sheets.String() + `</sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels.String() +
			`<Relationship Id="rId` + styles + `" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
			`</Relationships>`},
		{"xl/styles.xml", `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
			`<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>` +
			`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
			`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
			`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
			`<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs></styleSheet>`},
	}
	for _, p := range parts {
		w, err := x.zw.Create(p.name)
		if err != nil {
			return fmt.Errorf("error writing workbook: %w", err)
		}
		if _, err := io.WriteString(w, xml.Header+p.body); err != nil {
			return fmt.Errorf("error writing workbook: %w", err)
		}
	}
	if err := x.zw.Close(); err != nil {
		return fmt.Errorf("error writing workbook: %w", err)
	}
	return x.buf.Flush()
}
