//! The integration suite: real HTTP routes, a real PostgreSQL, fakes only for Telegram and Pakasir.

mod access;
mod admin_events;
mod admin_menu;
mod admin_settings;
mod api;
mod api_doc;
mod broadcast;
mod catalog;
mod delivery;
mod deploy;
mod hosting;
mod isolation;
mod operations;
mod overload;
mod payments;
mod shop;
mod support;
