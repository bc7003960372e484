//! The integration suite: real HTTP routes, a real PostgreSQL, fakes only for Telegram and Pakasir.

mod access;
mod admin_menu;
mod alerts;
mod api;
mod api_doc;
mod backup;
mod catalog;
mod delivery;
mod doctor;
mod hosting;
mod isolation;
mod keys;
mod operations;
mod payments;
mod shop;
mod support;
