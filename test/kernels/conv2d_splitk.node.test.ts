import { nodeSuite } from '../helpers/node_suite';

nodeSuite('conv2d_splitk');
