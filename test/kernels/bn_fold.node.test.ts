import { nodeSuite } from '../helpers/node_suite';

nodeSuite('bn_fold');
