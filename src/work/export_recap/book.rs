//! The workbook writer every export layout shares: typed cells, bold (header and title) rows,
//! merged ranges and a number format, written with rust_xlsxwriter. Layouts build [`Sheet`]s
//! (pure, tested cell by cell); only [`write`] touches the xlsx format.
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook, XlsxError};

/// One cell of a sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// A calendar day (`yyyy-mm-dd`).
    Date(NaiveDate),
    /// A Jakarta wall-clock time (`yyyy-mm-dd hh:mm:ss`).
    DateTime(NaiveDateTime),
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
    pub fn int(n: u64) -> Cell {
        Cell::Number(n as f64)
    }
}

/// A merged range, 0-based and inclusive: first row, first column, last row, last column.
pub type Merge = (u32, u16, u32, u16);

/// A worksheet: its name, its rows, and how they look.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<Cell>>,
    /// Rows written bold (headers, titles).
    pub bold_rows: Vec<u32>,
    /// Merged ranges; the text of a range is its top-left cell, centred.
    pub merges: Vec<Merge>,
    /// The Excel number format of every number cell (legacy `#,##0`), if any.
    pub number_format: Option<&'static str>,
}

impl Sheet {
    /// A plain table: the first row is the (bold) header.
    pub fn table(name: impl Into<String>, rows: Vec<Vec<Cell>>) -> Sheet {
        Sheet {
            name: name.into(),
            rows,
            bold_rows: vec![0],
            ..Sheet::default()
        }
    }
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`.
pub fn sheet_name(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    let name: String = clean.chars().take(31).collect();
    if name.is_empty() {
        "Rekap".into()
    } else {
        name
    }
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    let year = u16::try_from(d.year()).map_err(|_| XlsxError::DateTimeRangeError(d.to_string()))?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8)
}

/// Writes the sheets as one xlsx file.
pub fn write(sheets: &[Sheet]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    for sheet in sheets {
        let plain = Format::new();
        let bold = Format::new().set_bold();
        let (plain_num, bold_num) = match sheet.number_format {
            Some(f) => (
                Format::new().set_num_format(f),
                Format::new().set_bold().set_num_format(f),
            ),
            None => (Format::new(), Format::new().set_bold()),
        };
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        let ws = book.add_worksheet();
        ws.set_name(&sheet.name)?;
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = r as u32;
            let is_bold = sheet.bold_rows.contains(&r);
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(t) => {
                        ws.write_string_with_format(r, c, t, if is_bold { &bold } else { &plain })?
                    }
                    Cell::Number(n) => ws.write_number_with_format(
                        r,
                        c,
                        *n,
                        if is_bold { &bold_num } else { &plain_num },
                    )?,
                    Cell::Date(d) => ws.write_datetime_with_format(r, c, excel_date(*d)?, &date)?,
                    Cell::DateTime(t) => ws.write_datetime_with_format(
                        r,
                        c,
                        excel_date(t.date())?.and_hms(
                            t.hour() as u16,
                            t.minute() as u8,
                            t.second(),
                        )?,
                        &datetime,
                    )?,
                    Cell::Empty => ws,
                };
            }
        }
        for &(r0, c0, r1, c1) in &sheet.merges {
            let text = match sheet
                .rows
                .get(r0 as usize)
                .and_then(|row| row.get(c0 as usize))
            {
                Some(Cell::Text(t)) => t.as_str(),
                _ => "",
            };
            let mut f = Format::new()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter);
            if sheet.bold_rows.contains(&r0) {
                f = f.set_bold();
            }
            ws.merge_range(r0, c0, r1, c1, text, &f)?;
        }
        ws.autofit();
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_fit_excel() {
        assert_eq!(sheet_name("POLRES KEDIRI"), "POLRES KEDIRI");
        assert_eq!(sheet_name("A/B:C"), "A B C");
        assert_eq!(sheet_name(""), "Rekap");
        assert_eq!(sheet_name(&"X".repeat(40)).len(), 31);
    }

    #[test]
    fn every_cell_kind_and_a_merge_write() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 7).unwrap();
        let sheet = Sheet {
            name: "S".into(),
            rows: vec![
                vec![Cell::text("Title"), Cell::Empty],
                vec![
                    Cell::int(1),
                    Cell::Date(d),
                    Cell::DateTime(d.and_hms_opt(9, 5, 1).unwrap()),
                ],
            ],
            bold_rows: vec![0],
            merges: vec![(0, 0, 0, 2)],
            number_format: Some("#,##0"),
        };
        let bytes = write(&[sheet]).unwrap();
        assert!(bytes.starts_with(b"PK"));
    }
}
