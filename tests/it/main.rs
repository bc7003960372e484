//! The integration suite: real HTTP routes, a real PostgreSQL, fakes only for Telegram and Pakasir.

mod admin_catalog;
mod admin_coupons;
mod admin_stock;
mod api;
mod catalog;
mod catalog_v2;
mod hosting;
mod isolation;
mod operations;
mod payments;
mod shop;
mod support;
