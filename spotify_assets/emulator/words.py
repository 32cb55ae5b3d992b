"""Word lists for generated names: deliberately mixed scripts (accents, CJK, emoji) so that
downstream code meets the unicode it will meet in real Spotify data."""

ADJECTIVES = [
    "Blue", "Electric", "Silent", "Golden", "Broken", "Midnight", "Neon", "Wild", "Lost", "Velvet",
    "Crystal", "Fading", "Endless", "Hidden", "Burning", "Quiet", "Lonely", "Sweet", "Dark", "Bright",
    "Café", "Señor", "Über", "Rêve", "Açaí", "Søren", "Żółty", "Ñandú", "Fjärran", "Öde",
]
NOUNS = [
    "Heart", "River", "Dream", "Night", "Fire", "Ocean", "City", "Road", "Light", "Shadow",
    "Summer", "Rain", "Echo", "Garden", "Mirror", "Storm", "Horizon", "Signal", "Paradise", "Memory",
    "Corazón", "Nuit", "Straße", "Ciel", "Lágrimas", "Sehnsucht", "Mañana", "Tänzer",
]
CJK = ["夜空", "さくら", "東京", "사랑", "星の歌", "月光", "바다", "青春", "花火", "雨の日"]
EMOJI = ["🔥", "✨", "🌙", "💔", "🎧", "🌊", "🚀", "🌸"]
FIRST = ["Luna", "Mika", "Noah", "Aria", "Jonas", "Zoé", "Björn", "Ana", "Kenji", "Ji-woo", "Amélie",
         "Mateo", "Ingrid", "Kofi", "Priya", "Dmitri", "Lucía", "Oskar", "Yara", "Émile"]
LAST = ["Rivers", "Stone", "Vega", "Nakamura", "Müller", "García", "Okafor", "Lindqvist", "Kowalski",
        "Dubois", "Silva", "Kim", "Haddad", "O'Brien", "Novák", "Jensen"]
BAND_PREFIX = ["The", "Los", "Les", "Die", "DJ", "MC", "Lil", ""]
GENRES = [
    "pop", "dance pop", "indie rock", "alt z", "k-pop", "j-pop", "latin pop", "reggaeton", "hip hop",
    "trap", "house", "deep house", "techno", "lo-fi beats", "neo soul", "r&b", "afrobeats", "synthwave",
    "chamber pop", "modern rock", "bossa nova", "flamenco", "schlager", "chanson", "city pop", "drill",
]
LABELS = ["Sony Music", "Universal Music", "Warner Records", "XL Recordings", "Sub Pop", "Ninja Tune",
          "Domino", "Because Music", "Big Hit Music", "Dischord", "Independent", "4AD", "Ed Banger"]
MARKETS = ["AD", "AR", "AT", "AU", "BE", "BR", "CA", "CH", "CL", "DE", "DK", "ES", "FI", "FR", "GB",
           "IE", "IT", "JP", "KR", "MX", "NL", "NO", "NZ", "PL", "PT", "SE", "US"]
SHOW_TOPICS = ["Tech Talk", "True Crime Nights", "Daily Briefing", "Música y Más", "ポッドキャスト",
               "History Hour", "Startup Stories", "Gardening Weekly"]
