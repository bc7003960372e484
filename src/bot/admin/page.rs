//! Pages of long lists: which slice a page shows and the ◀️ n/m ▶️ row under it.
//!
//! Admin lists (orders, customers, products, audit entries) can be long; a page holds a fixed
//! number of rows so that no message nears Telegram's 4096 characters, and the page number
//! travels in the buttons' data.

use teloxide::types::InlineKeyboardButton;

use crate::bot::texts::admin::AdminTexts;

/// Rows on one page of an admin list.
pub const PER_PAGE: usize = 10;

/// One page of a list of `total` rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paged {
    /// Zero-based, clamped to the last page.
    pub page: u32,
    pub pages: u32,
    pub start: usize,
    pub end: usize,
}

/// The page `page` of `total` rows, `per_page` a page; past the end shows the last page.
pub fn paginate(total: usize, page: u32, per_page: usize) -> Paged {
    let pages = total.div_ceil(per_page).max(1) as u32;
    let page = page.min(pages - 1);
    let start = page as usize * per_page;
    Paged {
        page,
        pages,
        start: start.min(total),
        end: (start + per_page).min(total),
    }
}

/// ◀️ `n/m` ▶️ for `paged`, or nothing when everything fits on one page. `data(page)` is the
/// button data of another page; the middle label does nothing.
pub fn nav_row(
    t: &AdminTexts,
    paged: Paged,
    data: impl Fn(u32) -> String,
) -> Vec<InlineKeyboardButton> {
    if paged.pages <= 1 {
        return Vec::new();
    }
    let mut row = Vec::with_capacity(3);
    if paged.page > 0 {
        row.push(InlineKeyboardButton::callback(
            t.previous,
            data(paged.page - 1),
        ));
    }
    row.push(InlineKeyboardButton::callback(
        format!("{}/{}", paged.page + 1, paged.pages),
        crate::bot::callbacks::Callback::Noop.to_string(),
    ));
    if paged.page + 1 < paged.pages {
        row.push(InlineKeyboardButton::callback(t.next, data(paged.page + 1)));
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_every_row_once() {
        assert_eq!(
            paginate(25, 0, 10),
            Paged {
                page: 0,
                pages: 3,
                start: 0,
                end: 10
            }
        );
        assert_eq!(paginate(25, 2, 10).end, 25);
        // A page past the end (the list shrank) shows the last one.
        assert_eq!(paginate(25, 9, 10).page, 2);
        assert_eq!(paginate(0, 0, 10).pages, 1);
    }

    #[test]
    fn one_page_needs_no_navigation() {
        let t = &crate::bot::texts::admin::ID;
        assert!(nav_row(t, paginate(5, 0, 10), |p| p.to_string()).is_empty());
        let row = nav_row(t, paginate(30, 1, 10), |p| format!("go:{p}"));
        assert_eq!(row.len(), 3);
    }
}
