import { nodeSuite } from '../helpers/node_suite';

nodeSuite('autograd');
