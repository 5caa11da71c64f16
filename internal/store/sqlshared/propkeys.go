package sqlshared

// PropertyKeys is the migration, in both dialects, that re-keys dead
// properties from the URL paths they were stored under to the keys the
// domain builds from IDs (domain.PropKey), and renames the column to say
// so. textType is the type of the temporary path column, with the
// collation of the properties' path column where the dialect has one.
//
// Paths were stored unescaped, as the DAV namespace spelled them:
//
//	/dav/principals/USER/                    u:USER/principal
//	/dav/calendars/USER/                     u:USER/calendars
//	/dav/addressbooks/USER/                  u:USER/addressbooks
//	/dav/calendars/OWNER/NAME/               c:ID (address books under
//	                                         /dav/addressbooks/; NAME may
//	                                         hold "/" for nested collections)
//	/dav/calendars/OWNER/NAME/OBJECT         c:ID/OBJECT
//	/dav/calendars/VIEWER/vc-ID/             v:ID/VIEWER
//
// A viewer's properties of a virtual calendar were only ever set along with
// their subscription to it, so subscriptions name them. Where a path could
// name two things the namespace resolved it to the first of these rules (a
// view shadows a collection named like it); rows that match nothing
// (leftovers of what was deleted) are dropped.
func PropertyKeys(textType string) string {
	const calendars, books = `'/dav/calendars/'`, `'/dav/addressbooks/'`
	collPath := `CASE WHEN c.kind = 'addressbook' THEN ` + books + ` ELSE ` + calendars + ` END || c.owner || '/' || c.name || '/'`
	return `
CREATE TABLE property_keys (
	path ` + textType + ` PRIMARY KEY,
	new_key TEXT NOT NULL
);

INSERT INTO property_keys (path, new_key)
	SELECT ` + calendars + ` || s.viewer || '/vc-' || s.vc_id || '/', 'v:' || s.vc_id || '/' || s.viewer
	FROM vc_subscriptions s
	WHERE ` + calendars + ` || s.viewer || '/vc-' || s.vc_id || '/' IN (SELECT path FROM properties)
	ON CONFLICT DO NOTHING;

INSERT INTO property_keys (path, new_key)
	SELECT '/dav/principals/' || u.name || '/', 'u:' || u.name || '/principal' FROM users u
	WHERE '/dav/principals/' || u.name || '/' IN (SELECT path FROM properties)
	ON CONFLICT DO NOTHING;
INSERT INTO property_keys (path, new_key)
	SELECT ` + calendars + ` || u.name || '/', 'u:' || u.name || '/calendars' FROM users u
	WHERE ` + calendars + ` || u.name || '/' IN (SELECT path FROM properties)
	ON CONFLICT DO NOTHING;
INSERT INTO property_keys (path, new_key)
	SELECT ` + books + ` || u.name || '/', 'u:' || u.name || '/addressbooks' FROM users u
	WHERE ` + books + ` || u.name || '/' IN (SELECT path FROM properties)
	ON CONFLICT DO NOTHING;

INSERT INTO property_keys (path, new_key)
	SELECT ` + collPath + `, 'c:' || c.id FROM collections c
	WHERE ` + collPath + ` IN (SELECT path FROM properties)
	ON CONFLICT DO NOTHING;

INSERT INTO property_keys (path, new_key)
	SELECT ` + collPath + ` || o.name, 'c:' || c.id || '/' || o.name
	FROM collections c JOIN objects o ON o.collection_id = c.id
	WHERE ` + collPath + ` || o.name IN (SELECT path FROM properties)
	ON CONFLICT DO NOTHING;

DELETE FROM properties WHERE path NOT IN (SELECT path FROM property_keys);
UPDATE properties SET path = (SELECT new_key FROM property_keys k WHERE k.path = properties.path);
DROP TABLE property_keys;
ALTER TABLE properties RENAME COLUMN path TO key;
`
}
