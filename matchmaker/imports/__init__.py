"""Ways in and out besides the web forms: CSV import and export, IATI activity XML import and export."""
