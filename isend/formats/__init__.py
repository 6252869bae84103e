"""Date and number formats that differ from Django's for a language (FORMAT_MODULE_PATH).

Only English is here: Django's English formats are American ("12/05/2026" is 5 December),
which our customers in Azerbaijan read as 12 May. Azerbaijani and Russian use Django's own
formats (dd.mm.yyyy), which are what English follows now. A setting not named in a module
here falls back to Django's for that language."""
