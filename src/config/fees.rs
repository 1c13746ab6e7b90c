//! `[fees]`: the fee charged for each certified copy (lệ phí chứng thực bản sao từ bản
//! chính). The default schedule is the one of TT 226/2016/TT-BTC as the domain notes
//! recall it (../shared/DOMAIN.md §1.2–1.3, also in the Vĩnh Long list of procedure
//! 2.000815): 2,000 VND per page for the first two pages, 1,000 VND per page from the
//! third, at most 200,000 VND per copy; pages are counted on the original ("Trang là căn
//! cứ để thu phí được tính theo trang của bản chính"). Check the instrument in force.

use serde::Deserialize;

use super::ConfigError;

/// A per-page schedule with a cap per copy.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct FeeSchedule {
    /// How many first pages are charged at `first_page_fee`.
    pub first_pages: u32,
    /// Fee per page for the first `first_pages` pages (VND).
    pub first_page_fee: u64,
    /// Fee per page after them (VND).
    pub per_page: u64,
    /// At most this much per copy (VND); 0 = no cap.
    pub cap: u64,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        Self {
            first_pages: 2,
            first_page_fee: 2_000,
            per_page: 1_000,
            cap: 200_000,
        }
    }
}

impl FeeSchedule {
    /// The fee (VND) of one copy of an original of `pages` pages.
    pub fn fee(&self, pages: u32) -> u64 {
        let first = u64::from(pages.min(self.first_pages));
        let rest = u64::from(pages.saturating_sub(self.first_pages));
        let total = first
            .saturating_mul(self.first_page_fee)
            .saturating_add(rest.saturating_mul(self.per_page));
        if self.cap == 0 {
            total
        } else {
            total.min(self.cap)
        }
    }

    /// Checks the schedule: amounts within 100,000,000 VND.
    pub fn validate(&self) -> Result<(), ConfigError> {
        const MAX: u64 = 100_000_000;
        if self.first_page_fee > MAX || self.per_page > MAX || self.cap > MAX {
            return Err(ConfigError::Invalid {
                field: "fees",
                message: format!(
                    "fees.first_page_fee, fees.per_page and fees.cap must be at most {MAX} VND"
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_tt_226_2016() {
        let s = FeeSchedule::default();
        assert_eq!(s.fee(0), 0);
        assert_eq!(s.fee(1), 2_000);
        assert_eq!(s.fee(2), 4_000);
        assert_eq!(s.fee(3), 5_000);
        assert_eq!(s.fee(10), 12_000);
        // 4,000 + 196 × 1,000 = 200,000: the cap is reached at 198 pages.
        assert_eq!(s.fee(198), 200_000);
        assert_eq!(s.fee(199), 200_000);
        assert_eq!(s.fee(u32::MAX), 200_000);
    }

    #[test]
    fn a_schedule_from_toml() {
        let s: FeeSchedule =
            toml::from_str("first_pages = 1\nfirst_page_fee = 5000\nper_page = 500\ncap = 0")
                .unwrap();
        assert_eq!(s.fee(3), 6_000);
        assert_eq!(s.fee(u32::MAX), 5_000 + 500 * (u64::from(u32::MAX) - 1));
        assert!(s.validate().is_ok());
        assert!(toml::from_str::<FeeSchedule>("perpage = 1").is_err());
    }
}
