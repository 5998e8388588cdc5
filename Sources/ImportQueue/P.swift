enum PlaceholderImportQueue {}
