enum PlaceholderStationStore {}
