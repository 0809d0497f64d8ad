"""The Telegram door: an aiogram bot that steers runs; only this package imports aiogram."""
