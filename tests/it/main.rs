//! The integration suite: real HTTP routes, a real PostgreSQL, fakes only for Telegram and Pakasir.

mod access;
mod admin_catalog;
mod admin_coupons;
mod admin_customers;
mod admin_events;
mod admin_menu;
mod admin_orders;
mod admin_orders_customers_menu;
mod admin_settings;
mod admin_stock;
mod api;
mod api_doc;
mod catalog;
mod catalog_v2;
mod delivery;
mod deploy;
mod hosting;
mod isolation;
mod operations;
mod overload;
mod payments;
mod shop;
mod support;
