//! Column alignment as Go's `text/tabwriter` does it (docker vendors a copy that
//! measures cells in display columns): tab-terminated cells, elastic tabstops,
//! a column block spans consecutive lines that have a cell in that column, and
//! the text after a line's last tab is not part of any column.
//!
//! Docker's settings: tables (`ps`, `images` …) use [`TabWriter::docker_table`]
//! (minwidth 10, tabwidth 1, padding 3); `docker version` uses minwidth 20,
//! padding 1.

/// One tab-terminated (or line-final) cell.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    /// Byte length of the cell text in `buf`.
    size: usize,
    /// Display width.
    width: usize,
}

/// Collects text and writes it aligned by [`TabWriter::finish`].
#[derive(Debug, Clone)]
pub struct TabWriter {
    minwidth: usize,
    tabwidth: usize,
    padding: usize,
    padchar: char,
    buf: String,
    /// Start of the current (incomplete) cell in `buf`.
    cell_start: usize,
    lines: Vec<Vec<Cell>>,
}

impl TabWriter {
    /// A writer with Go's `tabwriter.NewWriter(out, minwidth, tabwidth, padding, padchar, 0)` settings.
    pub fn new(minwidth: usize, tabwidth: usize, padding: usize, padchar: char) -> Self {
        TabWriter { minwidth, tabwidth, padding, padchar, buf: String::new(), cell_start: 0, lines: vec![Vec::new()] }
    }

    /// The writer docker's list tables use.
    pub fn docker_table() -> Self {
        Self::new(10, 1, 3, ' ')
    }

    /// Appends text; `\t` ends a cell, `\n` (or `\f`, `\v`) ends a cell and a line.
    pub fn write_str(&mut self, s: &str) {
        let mut rest = s;
        while let Some(pos) = rest.find(['\t', '\n', '\x0b', '\x0c']) {
            self.buf.push_str(&rest[..pos]);
            let sep = rest.as_bytes()[pos];
            self.terminate_cell();
            if sep == b'\n' || sep == b'\x0c' {
                self.lines.push(Vec::new());
            }
            rest = &rest[pos + 1..];
        }
        self.buf.push_str(rest);
    }

    fn terminate_cell(&mut self) {
        let text = &self.buf[self.cell_start..];
        let cell = Cell { size: text.len(), width: display_width(text) };
        if let Some(line) = self.lines.last_mut() {
            line.push(cell);
        }
        self.cell_start = self.buf.len();
    }

    /// Formats everything written so far.
    pub fn finish(mut self) -> String {
        if self.buf.len() > self.cell_start {
            self.terminate_cell();
        }
        let mut out = String::with_capacity(self.buf.len() * 2);
        let mut widths = Vec::new();
        let mut pos = 0;
        let n = self.lines.len();
        self.format(&mut out, &mut widths, &mut pos, 0, n);
        out
    }

    fn format(&self, out: &mut String, widths: &mut Vec<usize>, pos: &mut usize, mut line0: usize, line1: usize) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // A cell in this column starts a block: print the lines before it.
            self.write_lines(out, widths, pos, line0, this);
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 {
                let line = &self.lines[this];
                if column + 1 >= line.len() {
                    break;
                }
                width = width.max(line[column].width + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format(out, widths, pos, line0, this);
            widths.pop();
            line0 = this;
        }
        self.write_lines(out, widths, pos, line0, line1);
    }

    fn write_lines(&self, out: &mut String, widths: &[usize], pos: &mut usize, line0: usize, line1: usize) {
        for i in line0..line1 {
            for (j, c) in self.lines[i].iter().enumerate() {
                if c.size > 0 {
                    out.push_str(&self.buf[*pos..*pos + c.size]);
                    *pos += c.size;
                }
                if let Some(w) = widths.get(j) {
                    self.pad(out, c.width, *w);
                }
            }
            if i + 1 < self.lines.len() {
                out.push('\n');
            }
        }
    }

    fn pad(&self, out: &mut String, textw: usize, cellw: usize) {
        if self.padchar == '\t' {
            if self.tabwidth == 0 {
                return;
            }
            let cellw = cellw.div_ceil(self.tabwidth) * self.tabwidth;
            let n = cellw.saturating_sub(textw);
            for _ in 0..n.div_ceil(self.tabwidth) {
                out.push('\t');
            }
            return;
        }
        for _ in 0..cellw.saturating_sub(textw) {
            out.push(self.padchar);
        }
    }
}

/// Aligns `text` with docker's table settings.
pub fn align(text: &str) -> String {
    let mut tw = TabWriter::docker_table();
    tw.write_str(text);
    tw.finish()
}

/// Display columns of a string: East Asian wide characters count 2, combining
/// marks and control characters 0, everything else 1.
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let u = c as u32;
    if u < 0x20 || (0x7f..0xa0).contains(&u) {
        return 0;
    }
    const ZERO: &[(u32, u32)] = &[
        (0x0300, 0x036f),
        (0x0483, 0x0489),
        (0x0591, 0x05bd),
        (0x0610, 0x061a),
        (0x064b, 0x065f),
        (0x0e31, 0x0e31),
        (0x0e34, 0x0e3a),
        (0x1ab0, 0x1aff),
        (0x1dc0, 0x1dff),
        (0x200b, 0x200f),
        (0x20d0, 0x20ff),
        (0xfe00, 0xfe0f),
        (0xfe20, 0xfe2f),
    ];
    const WIDE: &[(u32, u32)] = &[
        (0x1100, 0x115f),
        (0x231a, 0x231b),
        (0x2329, 0x232a),
        (0x23e9, 0x23ec),
        (0x25fd, 0x25fe),
        (0x2614, 0x2615),
        (0x2648, 0x2653),
        (0x26a1, 0x26a1),
        (0x26aa, 0x26ab),
        (0x26bd, 0x26be),
        (0x26c4, 0x26c5),
        (0x26d4, 0x26d4),
        (0x26ea, 0x26ea),
        (0x26f2, 0x26f5),
        (0x26fa, 0x26fd),
        (0x2705, 0x2705),
        (0x270a, 0x270b),
        (0x2728, 0x2728),
        (0x274c, 0x274c),
        (0x2753, 0x2757),
        (0x2795, 0x2797),
        (0x2b1b, 0x2b1c),
        (0x2b50, 0x2b55),
        (0x2e80, 0x303e),
        (0x3041, 0x33ff),
        (0x3400, 0x4dbf),
        (0x4e00, 0x9fff),
        (0xa000, 0xa4cf),
        (0xa960, 0xa97f),
        (0xac00, 0xd7a3),
        (0xf900, 0xfaff),
        (0xfe10, 0xfe19),
        (0xfe30, 0xfe6f),
        (0xff00, 0xff60),
        (0xffe0, 0xffe6),
        (0x1f300, 0x1f64f),
        (0x1f680, 0x1f6ff),
        (0x1f900, 0x1f9ff),
        (0x20000, 0x3fffd),
    ];
    let within = |table: &[(u32, u32)]| table.iter().any(|(lo, hi)| (*lo..=*hi).contains(&u));
    if within(ZERO) {
        0
    } else if within(WIDE) {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tw(minwidth: usize, tabwidth: usize, padding: usize, text: &str) -> String {
        let mut w = TabWriter::new(minwidth, tabwidth, padding, ' ');
        w.write_str(text);
        w.finish()
    }

    #[test]
    fn aligns_columns_like_go() {
        // Go: tabwriter.NewWriter(&b, 0, 8, 1, ' ', 0)
        assert_eq!(tw(0, 8, 1, "a\tb\tc\naa\tbb\tcc\naaa\t\n"), "a   b  c\naa  bb cc\naaa \n");
        // Docker's table settings: minwidth 10, padding 3.
        assert_eq!(
            align("CONTAINER ID\tIMAGE\tNAMES\n0123456789ab\tbusybox:latest\tweb\n"),
            "CONTAINER ID   IMAGE            NAMES\n0123456789ab   busybox:latest   web\n"
        );
        assert_eq!(align("A\tB\nx\ty\n"), "A         B\nx         y\n");
    }

    #[test]
    fn blocks_end_at_lines_without_the_column() {
        // The short line splits the first column into two blocks.
        assert_eq!(tw(0, 8, 1, "aaaa\tb\nno tabs\nc\td\n"), "aaaa b\nno tabs\nc d\n");
        // Trailing text without newline is written as is.
        assert_eq!(tw(0, 8, 2, "x\ty"), "x  y");
        // Empty cells are padded; the last cell of a line is never padded.
        assert_eq!(tw(0, 8, 1, "\tb\nlong\tc\n"), "     b\nlong c\n");
    }

    #[test]
    fn counts_display_columns() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("日本"), 4);
        assert_eq!(display_width("e\u{301}"), 1);
        assert_eq!(align("名前\tX\nab\tY\n"), "名前      X\nab        Y\n");
    }
}
