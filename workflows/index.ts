export { projectLoop } from './projectLoop.js';
export { trainingRound } from './trainingRound.js';
export { scheduledRound } from './scheduledRound.js';
