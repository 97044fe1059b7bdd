export * from './db.js';
export * from './events.js';
export * from './models.js';
export * from './predictions.js';
export * from './projects.js';
export * from './snapshots.js';
